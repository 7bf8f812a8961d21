using System.Text;
using System.Text.Json;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger;

public enum AppendStatus { Appended, Exists }

public sealed record AppendResult(long Index, string LeafHash, long TreeSize, AppendStatus Status);

/// <summary>
/// The verifiable ledger over a store: appends canonical entries (idempotent by client id), keeps the RFC 9162 tree,
/// applies account and transfer rules atomically with their entries, signs checkpoints, proves, and verifies by
/// replaying everything. One instance per thread; several processes may share a store.
/// </summary>
public sealed class LedgerService(ILedgerStore store, TimeProvider? clock = null)
{
    private readonly MerkleTree _tree = new();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public ILedgerStore Store => store;

    /// <summary>Brings the in-memory tree up to the stored log (entries other processes appended).</summary>
    private void CatchUp(IEnumerable<(long Index, string Leaf)> entries)
    {
        foreach (var (index, leaf) in entries)
        {
            if (index != _tree.Size) throw new LedgerError($"entry {index} out of sequence (expected {_tree.Size})");
            _tree.Append(MerkleHash.Leaf(Encoding.UTF8.GetBytes(leaf)));
        }
    }

    public long Size
    {
        get { CatchUp(store.ReadEntries(_tree.Size)); return _tree.Size; }
    }

    public AppendResult Append(string type, string actor, string payload, string? clientId = null, IReadOnlyList<string>? refs = null)
    {
        if (EventTypes.Problem(type, payload) is string problem) throw new LedgerError(problem);
        if (type is EventTypes.Transfer or EventTypes.AccountCreated)
            throw new LedgerError($"{type} entries are written by 'account create' and 'transfer', which enforce the account rules");
        return Write(tx => AppendIn(tx, type, actor, payload, clientId, refs ?? RefsOf(payload)));
    }

    /// <summary>Several events in one durable transaction (one fsync): all are appended or none is.</summary>
    public IReadOnlyList<AppendResult> AppendBatch(IReadOnlyList<(string Type, string Actor, string Payload, string? ClientId)> events)
    {
        foreach (var e in events)
        {
            if (EventTypes.Problem(e.Type, e.Payload) is string problem) throw new LedgerError(problem);
            if (e.Type is EventTypes.Transfer or EventTypes.AccountCreated) throw new LedgerError($"{e.Type} entries are written by 'account create' and 'transfer'");
        }
        return Write(tx =>
        {
            CatchUp(tx.ReadEntries(_tree.Size));   // once: nobody else writes while this transaction holds the lock
            var rows = new List<StoredEntry>();
            var inBatch = new Dictionary<string, (long Index, string Type, string Payload)>(StringComparer.Ordinal);
            var results = new List<AppendResult>();
            foreach (var e in events)
            {
                if (e.ClientId is string id && inBatch.TryGetValue(id, out var earlier))
                {
                    if (earlier.Type != e.Type || !JsonEquals(earlier.Payload, e.Payload))
                        throw new LedgerError($"id '{id}' appears twice in the batch with different content");
                    results.Add(Existing(earlier.Index));
                    continue;
                }
                var result = AppendIn(tx, e.Type, e.Actor, e.Payload, e.ClientId, RefsOf(e.Payload), caughtUp: true, deferred: rows);
                if (e.ClientId is string newId) inBatch[newId] = (result.Index, e.Type, e.Payload);
                results.Add(result);
            }
            tx.AppendMany(rows);
            return results;
        });
    }

    /// <summary>The answer to a retried id: the original entry's index and leaf hash.</summary>
    private AppendResult Existing(long index) => new(index, Hex(_tree.LeafHash(index)), _tree.Size, AppendStatus.Exists);

    private AppendResult Existing(ILedgerTransaction tx, string clientId)
    {
        CatchUp(tx.ReadEntries(_tree.Size));
        return Existing(tx.FindClientId(clientId)!.Value.Index);
    }

    /// <summary>Runs a store write; if it throws (nothing committed), the in-memory tree drops what it appended.</summary>
    private T Write<T>(Func<ILedgerTransaction, T> work)
    {
        long before = _tree.Size;
        try { return store.Write(work); }
        catch
        {
            _tree.Truncate(Math.Min(before, _tree.Size));
            throw;
        }
    }

    private static IReadOnlyList<string> RefsOf(string payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return doc.RootElement.TryGetProperty("refs", out var refs) && refs.ValueKind == JsonValueKind.Array
            ? refs.EnumerateArray().Select(r => r.GetString() ?? "").ToArray() : [];
    }

    /// <summary>Appends one entry inside <paramref name="tx"/>; with <paramref name="deferred"/> the row is collected
    /// for one multi-row insert instead of written now.</summary>
    private AppendResult AppendIn(ILedgerTransaction tx, string type, string actor, string payload, string? clientId, IReadOnlyList<string> refs,
        bool caughtUp = false, List<StoredEntry>? deferred = null)
    {
        if (!caughtUp) CatchUp(tx.ReadEntries(_tree.Size));
        if (clientId is not null && tx.FindClientId(clientId) is var (existingIndex, existingLeaf))
        {
            var existing = LedgerEntry.FromLeaf(Encoding.UTF8.GetBytes(existingLeaf));
            if (existing.Type != type || !JsonEquals(existing.Payload, payload))
                throw new LedgerError($"id '{clientId}' already exists with different content (entry {existingIndex})");
            return Existing(existingIndex);
        }
        foreach (var r in refs)
            if (tx.IndexOfLeafHash(r) is null && (deferred is null || !deferred.Any(d => d.LeafHashHex == r)))
                throw new LedgerError($"ref {r} is not the leaf hash of an earlier entry");
        var entry = new LedgerEntry(type, _clock.GetUtcNow(), actor, clientId, refs, payload);
        var leaf = entry.ToLeaf();
        var hash = MerkleHash.Leaf(leaf);
        long index = _tree.Size;
        var row = new StoredEntry(index, Encoding.UTF8.GetString(leaf), Hex(hash), type, clientId);
        if (deferred is null) tx.Append(row.Index, row.Leaf, row.LeafHashHex, row.Type, row.ClientId);
        else deferred.Add(row);
        _tree.Append(hash);
        return new AppendResult(index, Hex(hash), _tree.Size, AppendStatus.Appended);
    }

    public AppendResult CreateAccount(string id, bool allowNegative, string actor = "ledger")
    {
        CheckId(id, "account id");
        var payload = JsonSerializer.Serialize(new { id, allow_negative = allowNegative });
        return Write(tx =>
        {
            var existing = tx.ReadAccount(id);
            if (existing is not null)
            {
                if (existing.AllowNegative != allowNegative) throw new LedgerError($"account '{id}' already exists with different content (allow_negative {existing.AllowNegative})");
                return Existing(tx, $"account:{id}");
            }
            tx.SaveAccount(new Account(id, allowNegative, 0, 0));
            return AppendIn(tx, EventTypes.AccountCreated, actor, payload, $"account:{id}", []);
        });
    }

    /// <summary>Linked transfers: all are accepted (each becomes an entry) or none is; a transfer already recorded with
    /// the same content is reported as existing.</summary>
    public IReadOnlyList<AppendResult> Transfer(IReadOnlyList<Transfer> transfers, string actor = "ledger")
    {
        if (transfers.Count == 0) throw new LedgerError("no transfers given");
        foreach (var t in transfers) { CheckId(t.Id, "transfer id"); CheckId(t.Debit, "debit account"); CheckId(t.Credit, "credit account"); }
        if (transfers.Select(t => t.Id).Distinct().Count() != transfers.Count) throw new LedgerError("a transfer id appears twice in one batch");
        return Write(tx =>
        {
            var book = new AccountBook();
            foreach (var id in transfers.SelectMany(t => new[] { t.Debit, t.Credit }).Distinct())
                if (tx.ReadAccount(id) is Account a) book.Load(a);
            foreach (var t in transfers)
                if (tx.ReadTransfer(t.Id) is Transfer existing) book.Load(existing);
            var (failedAt, status) = book.ApplyLinked(transfers);
            if (failedAt >= 0)
            {
                var t = transfers[failedAt];
                throw new LedgerError(status switch
                {
                    TransferStatus.ExistsWithDifferentContent => $"transfer '{t.Id}' already exists with different content",
                    TransferStatus.UnknownAccount => $"transfer '{t.Id}': unknown account '{(book.Accounts.ContainsKey(t.Debit) ? t.Credit : t.Debit)}'",
                    TransferStatus.WouldGoNegative => $"transfer '{t.Id}': account '{t.Debit}' would go negative",
                    TransferStatus.SameAccount => $"transfer '{t.Id}': debit and credit are the same account",
                    TransferStatus.ZeroAmount => $"transfer '{t.Id}': amount must be positive",
                    _ => $"transfer '{t.Id}': {status}",
                } + (transfers.Count > 1 ? "; no transfer of the batch was applied" : ""));
            }
            var results = new List<AppendResult>();
            foreach (var t in transfers)
            {
                if (tx.ReadTransfer(t.Id) is not null)
                {
                    results.Add(Existing(tx, $"transfer:{t.Id}"));
                    continue;
                }
                var payload = JsonSerializer.Serialize(new { id = t.Id, debit = t.Debit, credit = t.Credit, amount = t.Amount.ToString() });
                var result = AppendIn(tx, EventTypes.Transfer, actor, payload, $"transfer:{t.Id}", []);
                tx.SaveTransfer(t, result.Index);
                results.Add(result);
            }
            foreach (var a in book.Accounts.Values) tx.SaveAccount(a);
            return results;
        });
    }

    /// <summary>Signs and stores the checkpoint of the current tree.</summary>
    public string Checkpoint(NoteSigner signer, string origin)
    {
        long size = Size;
        var note = signer.Sign(new Checkpoint(origin, (ulong)size, _tree.Root(size)).Text);
        store.SaveCheckpoint(size, note);
        return note;
    }

    public (byte[] LeafHash, IReadOnlyList<byte[]> Path, byte[] Root) Prove(long index, long size)
    {
        long current = Size;
        if (size < 1 || size > current) throw new LedgerError($"tree size {size} is outside the log (1..{current})");
        if (index < 0 || index >= size) throw new LedgerError($"index {index} is outside a tree of {size} entries");
        return (_tree.LeafHash(index), _tree.InclusionProof(index, size), _tree.Root(size));
    }

    public (IReadOnlyList<byte[]> Path, byte[] FromRoot, byte[] ToRoot) Consistency(long from, long to)
    {
        long current = Size;
        if (to > current) throw new LedgerError($"tree size {to} is beyond the log ({current} entries)");
        return (_tree.ConsistencyProof(from, to), _tree.Root(from), _tree.Root(to));
    }

    public byte[] Root(long size) { _ = Size; return _tree.Root(size); }

    public (LedgerEntry Entry, string Leaf, byte[] LeafHash) Read(long index)
    {
        if (index < 0 || index >= Size) throw new LedgerError($"index {index} is outside the log (0..{_tree.Size - 1})");
        var leaf = store.ReadEntries(index).First().Leaf;
        return (LedgerEntry.FromLeaf(Encoding.UTF8.GetBytes(leaf)), leaf, _tree.LeafHash(index));
    }

    /// <summary>Index of the entry with this leaf hash, if any (for walking refs); an indexed lookup.</summary>
    public long? IndexOf(string leafHashHex) => store.IndexOfLeafHash(leafHashHex);

    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static bool JsonEquals(string a, string b)
    {
        using var x = JsonDocument.Parse(a);
        using var y = JsonDocument.Parse(b);
        return JsonElement.DeepEquals(x.RootElement, y.RootElement);
    }

    private static void CheckId(string id, string what)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 200 || id.Any(char.IsControl))
            throw new LedgerError($"{what} '{id}' must be 1..200 printable characters");
    }
}
