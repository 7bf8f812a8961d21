using System.Data.Common;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger;

/// <summary>The outcome of <see cref="LedgerVerifier.Verify"/>. <see cref="FirstBadIndex"/> is the first entry whose
/// stored bytes, columns or position disagree with the log; when only a signed root locates the damage, it is the
/// first entry that can differ and <see cref="FirstBadLast"/> the last (the damage lies between them).</summary>
public sealed record VerifyReport(long Entries, long Checkpoints, int Accounts, long? FirstBadIndex, IReadOnlyList<string> Problems)
{
    public bool Ok => Problems.Count == 0;
    public long? FirstBadLast { get; init; }
}

/// <summary>
/// Replays a whole log from its bytes and re-derives every stored fact: each entry's rules, canonical bytes and the
/// columns stored beside it (leaf_hash, type, client_id), the numbering, refs, client-id uniqueness, every checkpoint
/// (signature, size column, root), the accounts table (flags, balances, creating entry) and the transfers table.
/// Names the first difference. Reads only: it never writes, and a cell or table it cannot read is a reported problem,
/// never an exception.
/// </summary>
public static class LedgerVerifier
{
    public static VerifyReport Verify(ILedgerStore store, NoteVerifier key, string? fromCheckpointNote = null)
    {
        var problems = new List<string>();
        var replay = new LogReplay();
        var entryProblems = new SortedDictionary<long, string>();
        Read(store, StoredTable.Entries, problems, row => replay.Add(row, (i, m) => entryProblems.TryAdd(i, m)));
        var entryList = entryProblems.Select(p => $"entry {p.Key}: {p.Value}").ToList();
        long? firstBad = entryProblems.Count > 0 ? entryProblems.Keys.First() : null;

        var checkpoints = new CheckpointCheck(replay.Tree, key);
        Read(store, StoredTable.Checkpoints, problems, checkpoints.AddStored);
        if (fromCheckpointNote is not null) checkpoints.AddGiven(fromCheckpointNote);
        problems.InsertRange(0, entryList);
        problems.AddRange(checkpoints.Problems);
        long? firstBadLast = null;
        if (firstBad is null && checkpoints.DamagedRange() is var (from, to)) (firstBad, firstBadLast) = (from, to);

        var accounts = replay.ExpectedAccounts();
        CompareTable(store, StoredTable.Accounts, accounts, "account.created", problems);
        CompareTable(store, StoredTable.Transfers, replay.ExpectedTransfers(), "transfer", problems);
        return new VerifyReport(replay.Tree.Size, checkpoints.Count, accounts.Count, firstBad, problems) { FirstBadLast = firstBadLast ?? firstBad };
    }

    /// <summary>Reads every row of a table, turning a table that cannot be read into one problem.</summary>
    private static void Read(ILedgerStore store, StoredTable table, List<string> problems, Action<object?[]> each)
    {
        try
        {
            foreach (var row in store.ReadRaw(table)) each(row);
        }
        catch (Exception e) when (e is DbException or LedgerError or InvalidOperationException)
        {
            problems.Add($"table {StoredSchema.Name(table)} cannot be read ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>Compares a derived table with the rows the replay expects, cell by cell, exactly as stored.</summary>
    private static void CompareTable(ILedgerStore store, StoredTable table, IReadOnlyDictionary<string, object?[]> expected, string entryType, List<string> problems)
    {
        var name = StoredSchema.Name(table);
        var columns = StoredSchema.Columns(table);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Read(store, table, problems, row =>
        {
            var key = Cells.Normalize(row[0]) as string;
            if (key is null || !expected.TryGetValue(key, out var want))
            {
                problems.Add($"{name} row {Cells.Show(row[0])} is stored but no {entryType} entry in the log made it");
                return;
            }
            seen.Add(key);
            for (int c = 1; c < columns.Count; c++)
                if (!Equals(Cells.Normalize(row[c]), want[c]))
                    problems.Add($"{name} row '{key}': {columns[c]} is {Cells.Show(row[c])}, the log says {Cells.Show(want[c])} ({entryType} entry {want[^1]})");
        });
        foreach (var key in expected.Keys.Where(k => !seen.Contains(k)))
            problems.Add($"{name} row '{key}' is missing (made by {entryType} entry {expected[key][^1]})");
    }
}
