using System.Text.RegularExpressions;

namespace ModelLedger.Evaluation.Metrics;

/// <summary>LLaMA-Factory's predict metrics for one pair, on 0..100 rounded to 4 decimals as it prints them.</summary>
public sealed record LlamaFactoryScores(double Rouge1, double Rouge2, double RougeL, double Bleu4);

/// <summary>
/// LLaMA-Factory's <c>compute_metrics</c> (ComputeSimilarity): the texts are segmented as jieba does, the segments
/// joined with spaces and scored by <c>rouge_chinese</c> — n-grams as sets (a repeated n-gram counts once),
/// p = overlap/|hyp n-grams|, r = overlap/|ref n-grams|, F1 = 2pr/(p+r+1e-8), rouge-l a plain LCS over all tokens with
/// the same F1 — and BLEU-4 is NLTK's sentence_bleu with method3 over the raw characters. Each ×100, rounded to 4.
/// <para>Segmentation of English (what jieba does with Latin text): runs of letters and digits (with a decimal part
/// and a trailing %, as jieba's finalseg keeps "3.5" and "20%") are one token each; every other non-space character
/// is a token of its own; whitespace separates. CJK text would need jieba's dictionary: each CJK character is taken as
/// one token here, which is jieba's fallback for unknown words, not its dictionary segmentation.</para>
/// </summary>
public static partial class LlamaFactoryScore
{
    [GeneratedRegex(@"[a-zA-Z0-9]+(?:\.\d+)?%?|\S")] private static partial Regex Segment();

    public static IReadOnlyList<string> Segments(string text) => Segment().Matches(text).Select(m => m.Value).ToArray();

    public static LlamaFactoryScores Score(string prediction, string reference)
    {
        var hyp = Segments(prediction);
        var refs = Segments(reference);
        double bleu = Math.Round(NltkBleu.Sentence([reference.Select(c => c.ToString()).ToArray()], prediction.Select(c => c.ToString()).ToArray()) * 100, 4);
        if (hyp.Count == 0 || refs.Count == 0) return new LlamaFactoryScores(0, 0, 0, bleu);
        return new LlamaFactoryScores(Round(SetRouge(hyp, refs, 1)), Round(SetRouge(hyp, refs, 2)), Round(LcsRouge(hyp, refs)), bleu);
    }

    private static double Round(double f) => Math.Round(f * 100, 4);

    private static double F1(double p, double r) => 2 * (p * r / (p + r + 1e-8));

    private static double SetRouge(IReadOnlyList<string> hyp, IReadOnlyList<string> refs, int n)
    {
        var h = Ngrams.Count(hyp, n).Keys.ToHashSet(StringComparer.Ordinal);
        var r = Ngrams.Count(refs, n).Keys.ToHashSet(StringComparer.Ordinal);
        int overlap = h.Count(r.Contains);
        double p = h.Count == 0 ? 0 : (double)overlap / h.Count;
        double rec = r.Count == 0 ? 0 : (double)overlap / r.Count;
        return F1(p, rec);
    }

    private static double LcsRouge(IReadOnlyList<string> hyp, IReadOnlyList<string> refs)
    {
        int lcs = Ngrams.LcsLength(hyp, refs);
        return F1((double)lcs / hyp.Count, (double)lcs / refs.Count);
    }
}
