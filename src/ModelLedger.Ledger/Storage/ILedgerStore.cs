using ModelLedger.Ledger.Accounts;

namespace ModelLedger.Ledger.Storage;

/// <summary>
/// Where the ledger lives (SQLite in the workspace by default, or PostgreSQL). Entries are stored as their exact leaf
/// text. Implementations MUST run <see cref="Write{T}"/> work as one transaction that is exclusive across threads and
/// processes and is durable (fsynced) when it returns; entries MUST be numbered 0, 1, 2, … with no gaps; a client id
/// MUST map to at most one entry, so retries are safe.
/// </summary>
public interface ILedgerStore : IDisposable
{
    T Write<T>(Func<ILedgerTransaction, T> work);
    long Count();
    IEnumerable<(long Index, string Leaf)> ReadEntries(long from);
    IReadOnlyList<Account> ReadAccounts();
    IReadOnlyList<(long Size, string Note)> ReadCheckpoints();
    void SaveCheckpoint(long size, string note);
    /// <summary>Index of the entry whose leaf hash (lower-case hex) this is, if any.</summary>
    long? IndexOfLeafHash(string leafHashHex);
}

/// <summary>One entry row as stored: index, exact leaf text, its hash (lower-case hex), type, optional client id.</summary>
public sealed record StoredEntry(long Index, string Leaf, string LeafHashHex, string Type, string? ClientId);

/// <summary>The reads and writes available inside one exclusive write transaction.</summary>
public interface ILedgerTransaction
{
    long Count();
    IEnumerable<(long Index, string Leaf)> ReadEntries(long from);
    (long Index, string Leaf)? FindClientId(string clientId);
    long? IndexOfLeafHash(string leafHashHex);
    void Append(long index, string leaf, string leafHashHex, string type, string? clientId);
    /// <summary>Several consecutive entries in as few statements as the backend allows.</summary>
    void AppendMany(IReadOnlyList<StoredEntry> entries);
    Account? ReadAccount(string id);
    void SaveAccount(Account account);
    Transfer? ReadTransfer(string id);
    void SaveTransfer(Transfer transfer, long index);
}
