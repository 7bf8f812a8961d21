using System.Data.Common;
using ModelLedger.Ledger.Accounts;

namespace ModelLedger.Ledger.Storage;

/// <summary>
/// Where the ledger lives (SQLite in the workspace by default, or PostgreSQL). Entries are stored as their exact leaf
/// text. Implementations MUST run <see cref="Write{T}"/> work as one transaction that is exclusive across threads and
/// processes and is durable (fsynced) when it returns; entries MUST be numbered 0, 1, 2, … with no gaps; a client id
/// MUST map to at most one entry, so retries are safe. Reads of a cell that does not hold what the schema promises
/// MUST throw <see cref="LedgerError"/> naming the table, row and column (never a cast exception).
/// </summary>
public interface ILedgerStore : IDisposable
{
    T Write<T>(Func<ILedgerTransaction, T> work);
    long Count();
    IEnumerable<(long Index, string Leaf)> ReadEntries(long from);
    IReadOnlyList<Account> ReadAccounts();
    IReadOnlyList<(long Size, string Note)> ReadCheckpoints();
    void SaveCheckpoint(long size, string note);
    /// <summary>Index of the entry whose leaf_hash column (lower-case hex) is this, if any.</summary>
    long? IndexOfLeafHash(string leafHashHex);
    /// <summary>The entry whose client_id column is this (index and stored leaf text), if any.</summary>
    (long Index, string Leaf)? FindClientId(string clientId);
    /// <summary>Every row of a table as the database holds it (cells in <see cref="StoredSchema.Columns"/> order,
    /// SQL NULL as null, ordered by the key), for verify; never writes. Enumeration throws the backend's exception
    /// when the table cannot be read.</summary>
    IEnumerable<object?[]> ReadRaw(StoredTable table);
    /// <summary>The store's own open connection, for a projection of the log kept in the same database (the reward
    /// tables) whose rows must commit in the same transaction as the entries they derive from (one commit, one
    /// fsync; see <see cref="ILedgerTransaction.Database"/>). Use it only from the store's thread, never to write
    /// entries or account rows.</summary>
    DbConnection Connection { get; }
}

/// <summary>One entry row as stored: index, exact leaf text, its hash (lower-case hex), type, optional client id.</summary>
public sealed record StoredEntry(long Index, string Leaf, string LeafHashHex, string Type, string? ClientId);

/// <summary>An accounts row: the balances and the index of the account.created entry it was made by.</summary>
public sealed record StoredAccount(Account Account, long EntryIndex);

/// <summary>A transfers row: the transfer and the index of its entry.</summary>
public sealed record StoredTransfer(Transfer Transfer, long EntryIndex);

/// <summary>The reads and writes available inside one exclusive write transaction.</summary>
public interface ILedgerTransaction
{
    /// <summary>The database transaction this write runs in (on <see cref="ILedgerStore.Connection"/>): a projection
    /// of the log writes its rows in it so that they commit, or roll back, with the entries.</summary>
    DbTransaction Database { get; }
    long Count();
    IEnumerable<(long Index, string Leaf)> ReadEntries(long from);
    /// <summary>The stored leaf text at <paramref name="index"/>, or null when there is no such row.</summary>
    string? ReadLeaf(long index);
    (long Index, string Leaf)? FindClientId(string clientId);
    long? IndexOfLeafHash(string leafHashHex);
    void Append(long index, string leaf, string leafHashHex, string type, string? clientId);
    /// <summary>Several consecutive entries in as few statements as the backend allows.</summary>
    void AppendMany(IReadOnlyList<StoredEntry> entries);
    StoredAccount? ReadAccount(string id);
    void InsertAccount(Account account, long entryIndex);
    void UpdateBalances(Account account);
    StoredTransfer? ReadTransfer(string id);
    void SaveTransfer(Transfer transfer, long index);
}
