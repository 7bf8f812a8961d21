using System.Text.RegularExpressions;

namespace ModelLedger.Evaluation.Metrics;

/// <summary>LLaMA-Factory's predict metrics for one pair, on 0..100 rounded to 4 decimals as it prints them.</summary>
public sealed record LlamaFactoryScores(double Rouge1, double Rouge2, double RougeL, double Bleu4);

/// <summary>
/// LLaMA-Factory's <c>compute_metrics</c> (ComputeSimilarity): the texts are segmented as jieba does, the segments
/// joined with spaces and scored by <c>rouge_chinese</c> (pltrdy's <c>rouge</c> with Chinese sentence splitting), and
/// BLEU-4 is NLTK's sentence_bleu with method3 over the raw characters. Each ×100, rounded to 4 decimals.
/// <para>rouge_chinese, as implemented here: sentences are split at 。，； and runs of ! ? ！ ？ (those characters are
/// dropped); words are the space-separated tokens of all sentences. ROUGE-N counts distinct n-grams of the flattened
/// words (a repeated n-gram counts once): p = overlap/|hyp n-grams|, r = overlap/|ref n-grams|,
/// F1 = 2pr/(p+r+1e-8). ROUGE-L is its summary level with exclusive (set) counting: the distinct words on an LCS of any
/// reference sentence with any hypothesis sentence, over the distinct words of hypothesis (p) and reference (r), same
/// F1. No lower-casing or stemming; other punctuation stays a token.</para>
/// <para>Segmentation of English (what jieba does with Latin text): runs of letters and digits (with a decimal part
/// and a trailing %, as jieba's finalseg keeps "3.5" and "20%") are one token each; every other non-space character
/// is a token of its own; whitespace separates. CJK text would need jieba's dictionary: each CJK character is taken as
/// one token here, which is jieba's fallback for unknown words, not its dictionary segmentation.</para>
/// </summary>
public static partial class LlamaFactoryScore
{
    [GeneratedRegex(@"[a-zA-Z0-9]+(?:\.\d+)?%?|\S")] private static partial Regex Segment();
    [GeneratedRegex(@"[。，；]|[!?！？]+")] private static partial Regex SentenceBreak();

    public static IReadOnlyList<string> Segments(string text) => Segment().Matches(text).Select(m => m.Value).ToArray();

    public static LlamaFactoryScores Score(string prediction, string reference)
    {
        var hyp = Segments(prediction);
        var refs = Segments(reference);
        double bleu = Math.Round(NltkBleu.Sentence([reference.Select(c => c.ToString()).ToArray()], prediction.Select(c => c.ToString()).ToArray()) * 100, 4);
        var hypSentences = Sentences(hyp);
        var refSentences = Sentences(refs);
        if (hypSentences.Count == 0 || refSentences.Count == 0) return new LlamaFactoryScores(0, 0, 0, bleu);
        return new LlamaFactoryScores(Round(SetRouge(hypSentences, refSentences, 1)), Round(SetRouge(hypSentences, refSentences, 2)),
            Round(SummaryLevelLcs(hypSentences, refSentences)), bleu);
    }

    /// <summary>rouge_chinese's sentence split of the space-joined segments, each sentence as its words.</summary>
    private static List<string[]> Sentences(IReadOnlyList<string> segments) =>
        SentenceBreak().Split(string.Join(' ', segments))
            .Select(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(words => words.Length > 0).ToList();

    private static double Round(double f) => Math.Round(f * 100, 4);

    private static double F1(double p, double r) => 2 * (p * r / (p + r + 1e-8));

    private static double SetRouge(List<string[]> hyp, List<string[]> refs, int n)
    {
        var h = Ngrams.Count(hyp.SelectMany(s => s).ToArray(), n).Keys.ToHashSet(StringComparer.Ordinal);
        var r = Ngrams.Count(refs.SelectMany(s => s).ToArray(), n).Keys.ToHashSet(StringComparer.Ordinal);
        int overlap = h.Count(r.Contains);
        return F1(h.Count == 0 ? 0 : (double)overlap / h.Count, r.Count == 0 ? 0 : (double)overlap / r.Count);
    }

    private static double SummaryLevelLcs(List<string[]> hyp, List<string[]> refs)
    {
        int m = refs.SelectMany(s => s).Distinct(StringComparer.Ordinal).Count();
        int n = hyp.SelectMany(s => s).Distinct(StringComparer.Ordinal).Count();
        var union = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in refs)
            foreach (var h in hyp) union.UnionWith(LcsWords(r, h));
        return F1((double)union.Count / n, (double)union.Count / m);
    }

    /// <summary>One LCS of reference x and hypothesis y, traced back as pltrdy's _recon_lcs does (ties step in y).</summary>
    private static IEnumerable<string> LcsWords(string[] x, string[] y) =>
        Lcs.Trace(x, y, Lcs.Tie.StepSecond).Select(p => x[p.A]);
}
