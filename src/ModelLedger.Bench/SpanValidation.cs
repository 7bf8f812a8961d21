using System.Diagnostics;
using ModelLedger.Attribution.Spans;

namespace ModelLedger.Bench;

/// <summary>One corpus size: build cost, index size, query latency, and how many reported spans a brute-force scan
/// confirmed (occurrence count and positions) out of those checked.</summary>
public sealed record SpanBenchRow(long Tokens, double BuildSeconds, double BytesPerToken, int Queries, double QueryMsMean,
    double QueryMsP99, int SpansChecked, int SpansConfirmed);

/// <summary>
/// Exact-span timing and validation on synthetic token corpora: documents are runs of phrases (3–12 tokens over a
/// 32,000-token vocabulary) drawn Zipf-like from a fixed bank, so repeats are frequent and some long; queries (48
/// tokens) splice bank phrases, corpus excerpts and random tokens. Every span a query reports on a sample is checked
/// against a linear scan of the token array. Seeded: the same sizes give the same corpora and queries.
/// </summary>
internal static class SpanValidation
{
    private const int Vocabulary = 32_000, QueryTokens = 48;

    public static IReadOnlyList<SpanBenchRow> Run(string workDirectory, IReadOnlyList<int> sizes, int queries, int checkedQueries,
        Action<string> log)
    {
        var rows = new List<SpanBenchRow>();
        foreach (int size in sizes)
        {
            var corpus = Corpus(size, seed: size);
            var path = Path.Combine(workDirectory, $"spans-{size}.mlsa");
            var build = SpanIndexStore.Build(corpus, new string('0', 64), new string('0', 64), path);
            log($"{size:N0} tokens: sorted in {build.SortSeconds:F2} s, {build.BytesPerToken:F2} bytes/token");
            using var index = SpanIndex.Open(path);
            var rng = new Random(size + 1);
            var batch = Enumerable.Range(0, queries).Select(_ => Query(corpus.Tokens, rng)).ToArray();
            foreach (var q in batch.Take(10)) LongestSpans.Find(index, q, 6, 10);   // warm the mapping and the JIT
            var times = new double[queries];
            var found = new IReadOnlyList<SpanMatch>[queries];
            for (int i = 0; i < queries; i++)
            {
                var watch = Stopwatch.StartNew();
                found[i] = LongestSpans.Find(index, batch[i], 6, 10);
                times[i] = watch.Elapsed.TotalMilliseconds;
            }
            var (spansChecked, confirmed) = Check(corpus.Tokens, batch, found, checkedQueries);
            Array.Sort(times);
            rows.Add(new SpanBenchRow(build.Tokens, build.SortSeconds, build.BytesPerToken, queries, times.Average(),
                times[Math.Min(queries - 1, (int)(queries * 0.99))], spansChecked, confirmed));
            log($"{size:N0} tokens: {times.Average():F3} ms/query; {confirmed}/{spansChecked} spans confirmed by brute force");
        }
        return rows;
    }

    /// <summary>Brute force over the first <paramref name="sample"/> queries: a span is confirmed when a scan finds
    /// it exactly Count times, its located positions among them, and it cannot be extended by one token at either
    /// end without losing every occurrence (so it is the longest match from its start, and maximal).</summary>
    private static (int Checked, int Confirmed) Check(int[] tokens, int[][] queries, IReadOnlyList<SpanMatch>[] found, int sample)
    {
        int spansChecked = 0, confirmed = 0;
        for (int q = 0; q < Math.Min(sample, queries.Length); q++)
            foreach (var span in found[q])
            {
                spansChecked++;
                var pattern = queries[q].AsSpan(span.Start, span.Length);
                var at = Occurrences(tokens, pattern);
                bool longer = span.End < queries[q].Length && Occurrences(tokens, queries[q].AsSpan(span.Start, span.Length + 1)).Count > 0;
                bool earlier = span.Start > 0 && Occurrences(tokens, queries[q].AsSpan(span.Start - 1, span.Length + 1)).Count > 0;
                if (at.Count == span.Count && span.Positions.All(at.Contains) && !longer && !earlier) confirmed++;
            }
        return (spansChecked, confirmed);
    }

    private static HashSet<int> Occurrences(int[] tokens, ReadOnlySpan<int> pattern)
    {
        var at = new HashSet<int>();
        int first = pattern[0];
        for (int i = 0; i + pattern.Length <= tokens.Length; i++)
            if (tokens[i] == first && tokens.AsSpan(i, pattern.Length).SequenceEqual(pattern)) at.Add(i);
        return at;
    }

    internal static TokenCorpus Corpus(int size, int seed)
    {
        var rng = new Random(seed);
        var bank = Enumerable.Range(0, 50_000).Select(_ => Enumerable.Range(0, rng.Next(3, 13)).Select(_ => rng.Next(Vocabulary)).ToArray()).ToArray();
        var tokens = new List<int>(size + size / 64);
        var starts = new List<int>();
        while (tokens.Count < size)
        {
            starts.Add(tokens.Count);
            int length = rng.Next(64, 513);
            for (int written = 0; written < length;)
            {
                // Zipf-like: the bank index is the floor of an exponential of a uniform, so low indices dominate.
                var phrase = bank[(int)Math.Min(bank.Length - 1, Math.Exp(rng.NextDouble() * Math.Log(bank.Length)) - 1)];
                tokens.AddRange(phrase);
                written += phrase.Length;
            }
            tokens.Add(TokenCorpus.Separator);
        }
        return new TokenCorpus(tokens.ToArray(), starts.ToArray(), Enumerable.Range(0, starts.Count).ToArray());
    }

    private static int[] Query(int[] tokens, Random rng)
    {
        var query = new List<int>(QueryTokens);
        while (query.Count < QueryTokens)
        {
            int from = rng.Next(tokens.Length - 16), length = rng.Next(4, 17);
            if (rng.Next(2) == 0) query.AddRange(tokens.AsSpan(from, length).ToArray().Where(t => t >= 0));
            else query.AddRange(Enumerable.Range(0, rng.Next(1, 4)).Select(_ => rng.Next(Vocabulary)));
        }
        return query.Take(QueryTokens).ToArray();
    }
}
