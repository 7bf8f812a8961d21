using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger;

public sealed record VerifyReport(long Entries, long Checkpoints, int Accounts, long? FirstBadIndex, IReadOnlyList<string> Problems)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// Replays a whole log: decodes every entry (canonical form, known type, valid payload), rebuilds the Merkle tree,
/// checks every stored checkpoint's signature and root, that the log extends a given checkpoint, and that the account
/// table equals the replay of account and transfer entries. Names the first bad entry.
/// </summary>
public static class LedgerVerifier
{
    public static VerifyReport Verify(ILedgerStore store, NoteVerifier key, string? fromCheckpointNote = null)
    {
        var problems = new List<string>();
        long? firstBad = null;
        void Bad(long index, string message)
        {
            firstBad ??= index;
            problems.Add($"entry {index}: {message}");
        }

        var tree = new MerkleTree();
        var book = new AccountBook();
        long expected = 0;
        foreach (var (index, leaf) in store.ReadEntries(0))
        {
            if (index != expected) { Bad(expected, $"missing (next stored entry is {index})"); break; }
            expected++;
            var bytes = Encoding.UTF8.GetBytes(leaf);
            tree.Append(MerkleHash.Leaf(bytes));
            LedgerEntry entry;
            try { entry = LedgerEntry.FromLeaf(bytes); }
            catch (LedgerError e) { Bad(index, e.Message); continue; }
            if (EventTypes.Problem(entry.Type, entry.Payload) is string problem) { Bad(index, problem); continue; }
            Replay(entry, book, index, Bad);
        }

        long checkpoints = 0;
        foreach (var (size, note) in store.ReadCheckpoints())
        {
            checkpoints++;
            var (verdict, text, _) = NoteFormat.Verify(Encoding.UTF8.GetBytes(note), [key]);
            if (verdict != NoteVerdict.Ok) { problems.Add($"checkpoint at size {size}: signature {verdict}"); continue; }
            var cp = Checkpoint.Parse(text!);
            if ((long)cp.Size > tree.Size) { problems.Add($"checkpoint at size {size}: the log has only {tree.Size} entries"); continue; }
            if (!tree.Root((long)cp.Size).AsSpan().SequenceEqual(cp.Root))
            {
                firstBad ??= FirstDifference(store, tree, (long)cp.Size);
                problems.Add($"checkpoint at size {size}: the stored entries do not hash to the signed root");
            }
        }
        if (fromCheckpointNote is not null)
        {
            var (verdict, text, _) = NoteFormat.Verify(Encoding.UTF8.GetBytes(fromCheckpointNote), [key]);
            if (verdict != NoteVerdict.Ok) problems.Add($"given checkpoint: signature {verdict}");
            else
            {
                var cp = Checkpoint.Parse(text!);
                if ((long)cp.Size > tree.Size) problems.Add($"given checkpoint: size {cp.Size} is beyond the log ({tree.Size} entries): the log was truncated");
                else if (!tree.Root((long)cp.Size).AsSpan().SequenceEqual(cp.Root))
                {
                    firstBad ??= FirstDifference(store, tree, (long)cp.Size);
                    problems.Add($"given checkpoint: the log does not extend it (root at size {cp.Size} differs)");
                }
            }
        }

        var stored = store.ReadAccounts().ToDictionary(a => a.Id, StringComparer.Ordinal);
        foreach (var a in book.Accounts.Values)
            if (!stored.TryGetValue(a.Id, out var s) || s != a)
                problems.Add($"account '{a.Id}': stored balance differs from the replay (replay: debits {a.DebitsPosted}, credits {a.CreditsPosted})");
        foreach (var id in stored.Keys.Where(id => !book.Accounts.ContainsKey(id)))
            problems.Add($"account '{id}' is stored but was never created in the log");
        return new VerifyReport(tree.Size, checkpoints, book.Accounts.Count, firstBad, problems);
    }

    /// <summary>The first entry whose stored leaf_hash column differs from its recomputed hash; if the attacker
    /// rewrote both, the checkpoint size bounds it (reported as the checkpoint's last entry).</summary>
    private static long FirstDifference(ILedgerStore store, MerkleTree tree, long size)
    {
        if (store is SqlLedgerStore sql)
            foreach (var (index, hash) in sql.ReadLeafHashes())
                if (index < size && hash != Convert.ToHexStringLower(tree.LeafHash(index))) return index;
        return size - 1;
    }

    private static void Replay(LedgerEntry entry, AccountBook book, long index, Action<long, string> bad)
    {
        if (entry.Type is not (EventTypes.AccountCreated or EventTypes.Transfer)) return;
        using var doc = entry.ParsePayload();
        var p = doc.RootElement;
        try
        {
            if (entry.Type == EventTypes.AccountCreated)
            {
                if (!book.Create(p.GetProperty("id").GetString()!, p.GetProperty("allow_negative").GetBoolean())) bad(index, "account created twice");
                return;
            }
            var amount = p.GetProperty("amount");
            var t = new Transfer(p.GetProperty("id").GetString()!, p.GetProperty("debit").GetString()!, p.GetProperty("credit").GetString()!,
                UInt128.Parse(amount.ValueKind == JsonValueKind.String ? amount.GetString()! : amount.GetRawText(), NumberStyles.None, CultureInfo.InvariantCulture));
            var status = book.Check(t);
            if (status != TransferStatus.Ok) bad(index, $"transfer '{t.Id}' breaks the account rules on replay ({status})");
            else book.Apply(t);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            bad(index, $"malformed {entry.Type} payload ({e.Message})");
        }
    }
}
