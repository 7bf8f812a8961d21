namespace ModelLedger.Attribution.Rag;

/// <summary>Text to BM25 terms: lower-case (invariant), split at every character that is not a letter or digit,
/// Lucene's English stop words removed (StandardAnalyzer's ENGLISH_STOP_WORDS_SET). No stemming.</summary>
internal static class Bm25Analyzer
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
        "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    };

    public static List<string> Terms(string text)
    {
        var terms = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool word = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (word && start < 0) start = i;
            if (word || start < 0) continue;
            var term = text[start..i].ToLowerInvariant();
            if (!StopWords.Contains(term)) terms.Add(term);
            start = -1;
        }
        return terms;
    }
}
