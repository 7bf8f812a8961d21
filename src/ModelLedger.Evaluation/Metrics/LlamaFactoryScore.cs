using System.Text.RegularExpressions;

namespace ModelLedger.Evaluation.Metrics;

/// <summary>LLaMA-Factory's predict metrics for one pair, on 0..100 rounded to 4 decimals as it prints them.</summary>
public sealed record LlamaFactoryScores(double Rouge1, double Rouge2, double RougeL, double Bleu4);

/// <summary>
/// LLaMA-Factory's <c>ComputeSimilarity</c> (src/llamafactory/train/sft/metric.py): both texts are cut by jieba
/// (<see cref="JiebaCut"/>); when either has no non-space token all ROUGE scores are 0; otherwise the tokens joined
/// by spaces are scored by rouge_chinese 1.0.3's <c>Rouge().get_scores</c>; BLEU-4 is NLTK's sentence_bleu with
/// method3 over the texts' characters. Each F ×100, rounded to 4 decimals.
/// <para>rouge_chinese: <c>cut_sent</c> breaks sentences after 。！？? (and six dots, two ellipses, a closing quote
/// after those) with regular expressions, strips trailing whitespace and splits at newlines; each piece that is not
/// empty has its whitespace runs collapsed to single spaces (a whitespace-only piece becomes an empty sentence); the
/// words of all sentences, split at single spaces, are flattened (an empty sentence contributes the word "").
/// ROUGE-N counts distinct n-grams (a repeated n-gram counts once): p = overlap/|hyp n-grams|,
/// r = overlap/|ref n-grams|, F = 2pr/(p+r+1e-8). ROUGE-L is the plain LCS of the flattened word lists over their
/// lengths, same F. No lower-casing or stemming.</para>
/// </summary>
public static partial class LlamaFactoryScore
{
    [GeneratedRegex("([。！？\\?])([^”’])")] private static partial Regex AfterStop();
    [GeneratedRegex("(\\.{6})([^”’])")] private static partial Regex AfterSixDots();
    [GeneratedRegex("(…{2})([^”’])")] private static partial Regex AfterEllipses();
    [GeneratedRegex("([。！？\\?][”’])([^，。！？\\?])")] private static partial Regex AfterQuotedStop();

    /// <summary>The tokens LLaMA-Factory scores: jieba's cut.</summary>
    public static IReadOnlyList<string> Segments(string text) => JiebaCut.Cut(text);

    public static LlamaFactoryScores Score(string prediction, string reference)
    {
        var hyp = string.Join(' ', JiebaCut.Cut(prediction));
        var refs = string.Join(' ', JiebaCut.Cut(reference));
        double bleu = Math.Round(NltkBleu.Sentence([Characters(reference)], Characters(prediction)) * 100, 4);
        if (JiebaCut.SplitOnSpace(hyp).Length == 0 || JiebaCut.SplitOnSpace(refs).Length == 0)
            return new LlamaFactoryScores(0, 0, 0, bleu);
        var h = Words(hyp);
        var r = Words(refs);
        return new LlamaFactoryScores(Round(SetRouge(h, r, 1)), Round(SetRouge(h, r, 2)), Round(PlainLcs(h, r)), bleu);
    }

    /// <summary>Python's <c>list(text)</c>: code points.</summary>
    private static string[] Characters(string text) => text.EnumerateRunes().Select(r => r.ToString()).ToArray();

    /// <summary>rouge_chinese's cut_sent, the per-sentence whitespace collapse and the flattening into words.</summary>
    internal static string[] Words(string text)
    {
        text = AfterStop().Replace(text, "$1\n$2");
        text = AfterSixDots().Replace(text, "$1\n$2");
        text = AfterEllipses().Replace(text, "$1\n$2");
        text = AfterQuotedStop().Replace(text, "$1\n$2");
        int end = text.Length;
        while (end > 0 && JiebaCut.IsSpace(text[end - 1])) end--;
        return text[..end].Split('\n').Where(s => s.Length > 0)
            .Select(s => string.Join(' ', JiebaCut.SplitOnSpace(s)))
            .SelectMany(s => s.Split(' ')).ToArray();
    }

    private static double Round(double f) => Math.Round(f * 100, 4);

    private static double F1(double p, double r) => 2 * (p * r / (p + r + 1e-8));

    private static double SetRouge(string[] hyp, string[] refs, int n)
    {
        var h = NgramSet(hyp, n);
        var r = NgramSet(refs, n);
        int overlap = h.Count(r.Contains);
        return F1(h.Count == 0 ? 0 : (double)overlap / h.Count, r.Count == 0 ? 0 : (double)overlap / r.Count);
    }

    /// <summary>Distinct n-grams: rouge_chinese's exclusive (set) <c>Ngrams</c>.</summary>
    private static HashSet<string> NgramSet(string[] words, int n) =>
        Ngrams.Count(words, n).Keys.ToHashSet(StringComparer.Ordinal);

    private static double PlainLcs(string[] hyp, string[] refs)
    {
        int lcs = Lcs.Length(refs, hyp);
        return F1((double)lcs / hyp.Length, (double)lcs / refs.Length);
    }
}
