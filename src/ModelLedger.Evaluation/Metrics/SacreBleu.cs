using System.Text.RegularExpressions;

namespace ModelLedger.Evaluation.Metrics;

/// <summary>One BLEU result as sacrebleu reports it (score 0..100).</summary>
public sealed record BleuResult(double Score, double[] Precisions, double BrevityPenalty, long SystemLength, long ReferenceLength);

/// <summary>
/// sacrebleu's BLEU: the 13a (mteval-v13a) tokenizer, max order 4, clipped n-gram statistics summed over the corpus,
/// "exp" smoothing (the k-th zero-match precision becomes 100/(2^k · total)), brevity penalty exp(1 − r/c) when
/// c &lt; r. <see cref="Corpus"/> matches <c>corpus_bleu</c> (no effective order); <see cref="Sentence"/> matches
/// <c>sentence_bleu</c> (effective order: orders with no n-grams are left out).
/// </summary>
public static partial class SacreBleu
{
    [GeneratedRegex(@"([\{-\~\[-\` -\&\(-\+\:-\@\/])")] private static partial Regex Punctuation();
    [GeneratedRegex(@"([^0-9])([\.,])")] private static partial Regex PeriodCommaUnlessPrecededByDigit();
    [GeneratedRegex(@"([\.,])([^0-9])")] private static partial Regex PeriodCommaUnlessFollowedByDigit();
    [GeneratedRegex(@"([0-9])(-)")] private static partial Regex DashAfterDigit();

    /// <summary>mteval-v13a tokenization.</summary>
    public static string Tokenize13a(string line)
    {
        line = line.Replace("<skipped>", "", StringComparison.Ordinal).Replace("-\n", "", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
        if (line.Contains('&', StringComparison.Ordinal))
            line = line.Replace("&quot;", "\"", StringComparison.Ordinal).Replace("&amp;", "&", StringComparison.Ordinal)
                .Replace("&lt;", "<", StringComparison.Ordinal).Replace("&gt;", ">", StringComparison.Ordinal);
        line = " " + line + " ";
        line = Punctuation().Replace(line, " $1 ");
        line = PeriodCommaUnlessPrecededByDigit().Replace(line, "$1 $2 ");
        line = PeriodCommaUnlessFollowedByDigit().Replace(line, " $1 $2");
        line = DashAfterDigit().Replace(line, "$1 $2 ");
        return string.Join(' ', line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    public static BleuResult Corpus(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references) =>
        Compute(hypotheses.Zip(references, Statistics).Aggregate(new long[10], Add), effectiveOrder: false);

    public static BleuResult Sentence(string hypothesis, string reference) => Compute(Statistics(hypothesis, reference), effectiveOrder: true);

    /// <summary>[hypLen, refLen, correct1..4, total1..4].</summary>
    private static long[] Statistics(string hypothesis, string reference)
    {
        var h = Tokenize13a(hypothesis).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var r = Tokenize13a(reference).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var stats = new long[10];
        stats[0] = h.Length;
        stats[1] = r.Length;
        for (int n = 1; n <= 4; n++)
        {
            var hc = Ngrams.Count(h, n);
            var rc = Ngrams.Count(r, n);
            stats[1 + n] = hc.Sum(kv => Math.Min(kv.Value, rc.GetValueOrDefault(kv.Key)));
            stats[5 + n] = Math.Max(0, h.Length - n + 1);
        }
        return stats;
    }

    private static long[] Add(long[] a, long[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    private static BleuResult Compute(long[] s, bool effectiveOrder)
    {
        long sys = s[0], refLen = s[1];
        var precisions = new double[4];
        double smooth = 1;
        int order = 4;
        for (int n = 1; n <= 4; n++)
        {
            long correct = s[1 + n], total = s[5 + n];
            if (total == 0) { if (effectiveOrder) { order = n - 1; break; } precisions[n - 1] = 0; continue; }
            if (correct == 0) { smooth *= 2; precisions[n - 1] = 100.0 / (smooth * total); }
            else precisions[n - 1] = 100.0 * correct / total;
        }
        double bp = sys == 0 ? 0 : sys < refLen ? Math.Exp(1 - (double)refLen / sys) : 1;
        if (sys == 0 || order == 0 || precisions.Take(order).Any(p => p == 0)) return new BleuResult(0, precisions, bp, sys, refLen);
        double score = bp * Math.Exp(precisions.Take(order).Sum(p => Math.Log(p)) / order);
        return new BleuResult(score, precisions, bp, sys, refLen);
    }
}
