namespace ModelLedger.Evaluation.Metrics;

/// <summary>
/// Longest common subsequence of two token lists without the full (|a|+1)×(|b|+1) table, which for one long pair
/// (40k × 60k tokens) needs 9.6 GB. The length uses two rows of the shorter side. <see cref="Trace"/> recovers the very
/// LCS the reference implementations' table backtrack finds (ROUGE-Lsum's union-LCS depends on which one): it keeps
/// every k-th row of the forward pass (k ≈ √rows) and recomputes one block of k rows at a time as the backtrack walks
/// down, so memory is about 2·√max(n,m)·min(n,m) ints and time about twice the table's.
/// </summary>
internal static class Lcs
{
    /// <summary>Which index a backtrack moves when stepping up and stepping left keep the same LCS length.</summary>
    public enum Tie
    {
        /// <summary>Step back in the first sequence (rouge_score's _backtrack_norec).</summary>
        StepFirst,
        /// <summary>Step back in the second sequence (pltrdy rouge's _recon_lcs).</summary>
        StepSecond,
    }

    public static int Length(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var (rows, columns) = Ids(a, b);
        if (rows.Length < columns.Length) (rows, columns) = (columns, rows);
        var previous = new int[columns.Length + 1];
        var current = new int[columns.Length + 1];
        for (int i = 1; i <= rows.Length; i++)
        {
            NextRow(rows[i - 1], columns, previous, current, columns.Length);
            (previous, current) = (current, previous);
        }
        return previous[columns.Length];
    }

    /// <summary>Index pairs (into <paramref name="a"/>, into <paramref name="b"/>) of one LCS in increasing order: the
    /// one a backtrack over the full table finds from its last cell, taking a match diagonally and otherwise moving
    /// towards the larger neighbour, with ties broken by <paramref name="tie"/>.</summary>
    public static List<(int A, int B)> Trace(IReadOnlyList<string> a, IReadOnlyList<string> b, Tie tie)
    {
        var (ia, ib) = Ids(a, b);
        if (ia.Length >= ib.Length) return TraceRows(ia, ib, tieStepsRow: tie == Tie.StepFirst);
        // Transposed so the checkpointed dimension is the longer one; the tie rule follows its sequence.
        return TraceRows(ib, ia, tieStepsRow: tie == Tie.StepSecond).Select(p => (p.Column, p.Row)).ToList();
    }

    private static List<(int Row, int Column)> TraceRows(int[] rows, int[] columns, bool tieStepsRow)
    {
        int n = rows.Length, m = columns.Length;
        int k = Math.Max(1, (int)Math.Ceiling(Math.Sqrt(n + 1)));
        var checkpoints = new int[n / k + 1][];   // row c·k of the table
        var previous = new int[m + 1];
        var current = new int[m + 1];
        checkpoints[0] = new int[m + 1];
        for (int i = 1; i <= n; i++)
        {
            NextRow(rows[i - 1], columns, previous, current, m);
            (previous, current) = (current, previous);
            if (i % k == 0) checkpoints[i / k] = (int[])previous.Clone();
        }
        var block = new int[k + 1][];
        for (int r = 0; r <= k; r++) block[r] = new int[m + 1];
        var path = new List<(int, int)>();
        int row = n, column = m;
        while (row > 0 && column > 0)
        {
            int start = (row - 1) / k * k;   // block rows start..row, recomputed from the checkpoint at start
            Array.Copy(checkpoints[start / k], block[0], column + 1);
            for (int i = start + 1; i <= row; i++)
                NextRow(rows[i - 1], columns, block[i - 1 - start], block[i - start], column);
            while (row > start && column > 0)
            {
                if (rows[row - 1] == columns[column - 1])
                {
                    path.Add((row - 1, column - 1));
                    (row, column) = (row - 1, column - 1);
                    continue;
                }
                int up = block[row - 1 - start][column], left = block[row - start][column - 1];
                if (up > left || (up == left && tieStepsRow)) row--;
                else column--;
            }
        }
        path.Reverse();
        return path;
    }

    /// <summary>current[0..width] = the table row after <paramref name="token"/>, from the row before it.</summary>
    private static void NextRow(int token, int[] columns, int[] previous, int[] current, int width)
    {
        current[0] = 0;
        for (int j = 1; j <= width; j++)
            current[j] = token == columns[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
    }

    /// <summary>Tokens as small integers (equal strings, equal ids), so the inner loop compares ints.</summary>
    private static (int[], int[]) Ids(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int[] Map(IReadOnlyList<string> tokens)
        {
            var result = new int[tokens.Count];
            for (int i = 0; i < tokens.Count; i++)
                if (!ids.TryGetValue(tokens[i], out result[i])) ids[tokens[i]] = result[i] = ids.Count;
            return result;
        }
        return (Map(a), Map(b));
    }
}
