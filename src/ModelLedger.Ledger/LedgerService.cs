using System.Text;
using System.Text.Json;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger;

/// <summary>
/// The verifiable ledger over a store: appends canonical entries (idempotent by client id), keeps the RFC 9162 tree,
/// applies account and transfer rules atomically with their entries, signs checkpoints, proves, and verifies by
/// replaying everything. Submissions answer with an <see cref="AppendResult"/> outcome; the <c>Append</c>,
/// <c>CreateAccount</c> and <c>Transfer</c> forms throw <see cref="LedgerError"/> instead of returning a refusal.
/// Client ids, account ids and transfer ids are three separate namespaces. Idempotency answers are read from the log
/// bytes (the derived tables only say where to look, and verify checks them). One instance per thread; several
/// processes may share a store.
/// </summary>
public sealed partial class LedgerService(ILedgerStore store, TimeProvider? clock = null)
{
    private readonly MerkleTree _tree = new();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public ILedgerStore Store => store;

    /// <summary>Brings the in-memory tree up to the stored log (entries other processes appended).</summary>
    private void CatchUp(IEnumerable<(long Index, string Leaf)> entries)
    {
        foreach (var (index, leaf) in entries)
        {
            if (index != _tree.Size) throw new LedgerError($"entry {index} out of sequence (expected {_tree.Size}); run mledger ledger verify");
            _tree.Append(MerkleHash.Leaf(EntryRules.Bytes(leaf)));
        }
    }

    public long Size
    {
        get { CatchUp(store.ReadEntries(_tree.Size)); return _tree.Size; }
    }

    public AppendResult Append(string type, string actor, string payload, string? clientId = null, IReadOnlyList<string>? refs = null) =>
        Submit(type, actor, payload, clientId, refs).OrThrow();

    /// <summary>Appends one event; answers Appended, Exists (same client id and content), ExistsWithDifferentContent or
    /// Rejected (with the reason). Nothing is written unless the answer is Appended.</summary>
    public AppendResult Submit(string type, string actor, string payload, string? clientId = null, IReadOnlyList<string>? refs = null)
    {
        payload = EntryRules.Canonical(payload);
        if (Precheck(type, payload, clientId, out var payloadRefs) is string problem) return AppendResult.Refused(problem);
        return Guarded(() => Write(tx => AppendIn(tx, type, actor, payload, clientId, refs ?? payloadRefs)));
    }

    /// <summary>Several events in one durable transaction (one fsync): all are appended or none is.</summary>
    public IReadOnlyList<AppendResult> AppendBatch(IReadOnlyList<(string Type, string Actor, string Payload, string? ClientId)> events)
    {
        var results = SubmitBatch(events);
        foreach (var r in results) r.OrThrow();
        return results;
    }

    /// <summary>The outcome form of <see cref="AppendBatch"/>: when any event is refused, every result of the batch is
    /// a refusal (the first one carries the reason) and nothing is written.</summary>
    public IReadOnlyList<AppendResult> SubmitBatch(IReadOnlyList<(string Type, string Actor, string Payload, string? ClientId)> events)
    {
        if (PrecheckBatch(events, out var canonical, out var refs) is { } early) return early;
        int at = 0;
        try { return Write(tx => AppendBatchIn(tx, canonical, refs, i => at = i)); }
        catch (RefusedException refused)
        {
            return RefuseBatch(canonical.Count, at, refused.Result with
            {
                Reason = canonical.Count > 1 ? $"event {at + 1} of the batch: {refused.Result.Reason}; nothing was written" : refused.Result.Reason,
            });
        }
    }

    /// <summary>The body of <see cref="SubmitBatch"/> inside <paramref name="tx"/>: canonical, prechecked events
    /// appended as one multi-row insert; <paramref name="reached"/> hears the position of each event before it is
    /// checked (so a refusal can name it). Throws <see cref="RefusedException"/> to refuse.</summary>
    private List<AppendResult> AppendBatchIn(ILedgerTransaction tx,
        IReadOnlyList<(string Type, string Actor, string Payload, string? ClientId)> canonical, string[][] refs,
        Action<int> reached)
    {
        CatchUp(tx.ReadEntries(_tree.Size));   // once: nobody else writes while this transaction holds the lock
        var rows = new List<StoredEntry>();
        var inBatch = new Dictionary<string, (long Index, string Type, string Payload)>(StringComparer.Ordinal);
        var results = new List<AppendResult>();
        for (int at = 0; at < canonical.Count; at++)
        {
            reached(at);
            var e = canonical[at];
            if (e.ClientId is string id && inBatch.TryGetValue(id, out var earlier))
            {
                if (earlier.Type != e.Type || !JsonEquals(earlier.Payload, e.Payload))
                    throw new RefusedException(AppendResult.Refused($"id '{id}' appears twice in the batch with different content"));
                results.Add(Existing(earlier.Index));
                continue;
            }
            var result = AppendIn(tx, e.Type, e.Actor, e.Payload, e.ClientId, refs[at], caughtUp: true, deferred: rows);
            if (e.ClientId is string newId) inBatch[newId] = (result.Index, e.Type, e.Payload);
            results.Add(result);
        }
        tx.AppendMany(rows);
        return results;
    }

    /// <summary>The events made canonical and checked before taking the write lock, with their refs; the refusals
    /// of the whole batch when one fails.</summary>
    private static AppendResult[]? PrecheckBatch(IReadOnlyList<(string Type, string Actor, string Payload, string? ClientId)> events,
        out List<(string Type, string Actor, string Payload, string? ClientId)> canonical, out string[][] refs)
    {
        canonical = events.Select(e => e with { Payload = EntryRules.Canonical(e.Payload) }).ToList();
        refs = new string[canonical.Count][];
        for (int i = 0; i < canonical.Count; i++)
            if (Precheck(canonical[i].Type, canonical[i].Payload, canonical[i].ClientId, out refs[i]) is string problem)
                return RefuseBatch(canonical.Count, i, AppendResult.Refused($"event {i + 1} of the batch: {problem}"));
        return null;
    }

    private static AppendResult[] RefuseBatch(int count, int failedAt, AppendResult failure) =>
        Enumerable.Range(0, count).Select(i => i == failedAt ? failure
            : AppendResult.Refused($"not written: event {failedAt + 1} of the batch was refused")).ToArray();

    /// <summary>The rules checked before taking the write lock; also yields the payload's refs.</summary>
    private static string? Precheck(string type, string payload, string? clientId, out string[] refs)
    {
        refs = [];
        if (type is EventTypes.Transfer or EventTypes.AccountCreated)
            return $"{type} entries are written by 'account create' and 'transfer', which enforce the account rules";
        return EntryRules.IdProblem(clientId, "client id") ?? EntryRules.PayloadProblem(type, payload, out refs);
    }

    /// <summary>The answer to a retried id: the original entry's index and its leaf hash as computed from its bytes.</summary>
    private AppendResult Existing(long index) => new(index, Hex(_tree.LeafHash(index)), _tree.Size, AppendStatus.Exists);

    private AppendResult Existing(ILedgerTransaction tx, long index)
    {
        CatchUp(tx.ReadEntries(_tree.Size));
        return Existing(index);
    }

    /// <summary>Leaf hash (hex) → index of the entries the current write appended: a ref to one of them resolves
    /// without a database lookup (its hash is the one just computed from the bytes being written at that index).
    /// Emptied when a write starts.</summary>
    private readonly Dictionary<string, long> _written = new(StringComparer.Ordinal);

    /// <summary>Entries below this index were committed before the current write began (so cannot roll back).
    /// </summary>
    private long _committed;

    /// <summary>Runs a store write; if it throws (nothing committed), the in-memory tree drops what it appended.</summary>
    private T Write<T>(Func<ILedgerTransaction, T> work)
    {
        long before = _tree.Size;
        _written.Clear();
        try
        {
            return store.Write(tx =>
            {
                CatchUp(tx.ReadEntries(_tree.Size));   // the lock is held: what is stored now is committed
                _committed = _tree.Size;
                return work(tx);
            });
        }
        catch
        {
            _tree.Truncate(Math.Min(before, _tree.Size));
            throw;
        }
        finally { _written.Clear(); }
    }

    /// <summary>Turns a refusal thrown inside a write (which rolled it back) into its outcome value.</summary>
    private static T Guarded<T>(Func<T> write)
    {
        try { return write(); }
        catch (RefusedException refused) when (refused.Result is T result) { return result; }
    }

    /// <summary>Appends one entry inside <paramref name="tx"/>; with <paramref name="deferred"/> the row is collected
    /// for one multi-row insert instead of written now. Throws <see cref="RefusedException"/> to refuse.</summary>
    private AppendResult AppendIn(ILedgerTransaction tx, string type, string actor, string payload, string? clientId, IReadOnlyList<string> refs,
        bool caughtUp = false, List<StoredEntry>? deferred = null)
    {
        if (!caughtUp) CatchUp(tx.ReadEntries(_tree.Size));
        if (clientId is not null && tx.FindClientId(clientId) is var (existingIndex, existingLeaf))
        {
            var existing = DecodeStored(existingIndex, existingLeaf);
            if (existing.ClientId != clientId)
                throw new LedgerError($"entry {existingIndex}: the client_id column says '{clientId}' but its bytes say '{existing.ClientId}'; run mledger ledger verify");
            if (existing.Type != type || !JsonEquals(existing.Payload, payload))
                throw new RefusedException(new AppendResult(existingIndex, Hex(_tree.LeafHash(existingIndex)), _tree.Size, AppendStatus.ExistsWithDifferentContent,
                    $"id '{clientId}' already exists with different content (entry {existingIndex})"));
            return Existing(existingIndex);
        }
        var entry = new LedgerEntry(type, _clock.GetUtcNow(), actor, clientId, refs, payload);
        var leaf = entry.ToLeaf();
        long index = _tree.Size;
        // The rules verify applies, run on the exact bytes about to be written; refs resolve against the log itself
        // (the leaf_hash column only finds the candidate, the tree's hash of the stored bytes must agree).
        var (_, problem) = EntryRules.Check(leaf, index, r => Resolve(tx, r));
        if (problem is not null) throw new RefusedException(AppendResult.Refused(problem));
        var hash = MerkleHash.Leaf(leaf);
        var hashHex = Hex(hash);
        var row = new StoredEntry(index, Encoding.UTF8.GetString(leaf), hashHex, type, clientId);
        if (deferred is null) tx.Append(row.Index, row.Leaf, row.LeafHashHex, row.Type, row.ClientId);
        else deferred.Add(row);
        _tree.Append(hash);
        _written[row.LeafHashHex] = index;
        return new AppendResult(index, hashHex, _tree.Size, AppendStatus.Appended);
    }

    /// <summary>The index of an entry whose leaf hash is <paramref name="leafHash"/> (the rules only ask that it be
    /// earlier than the new entry): one this write appended, else the stored one whose bytes the tree hashed.</summary>
    private long? Resolve(ILedgerTransaction tx, string leafHash)
    {
        if (_written.TryGetValue(leafHash, out var written)) return written;
        return tx.IndexOfLeafHash(leafHash) is long at && at < _tree.Size && Hex(_tree.LeafHash(at)) == leafHash
            ? at : null;
    }

    private static LedgerEntry DecodeStored(long index, string leaf)
    {
        try { return LedgerEntry.FromLeaf(EntryRules.Bytes(leaf)); }
        catch (LedgerError e) { throw new LedgerError($"entry {index}: {e.Message}; run mledger ledger verify"); }
    }

    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static bool JsonEquals(string a, string b)
    {
        using var x = JsonDocument.Parse(a);
        using var y = JsonDocument.Parse(b);
        return JsonElement.DeepEquals(x.RootElement, y.RootElement);
    }
}
