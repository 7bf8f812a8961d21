namespace ModelLedger.Datanets.Quality;

/// <summary>
/// A cheap junk / word-salad score in [0, 1] over a record's normalised words (docs/datanets.md explains the rule):
/// score = word-likeness × (1 − repeated trigram share) × function-word factor.
/// <list type="bullet">
/// <item>word-likeness: share of tokens that look like words: letters only with a vowel, no run of 6 consonants, no
/// letter three times in a row, at most 24 letters; numbers count as words; any token with a letter outside Latin
/// counts (scripts without vowels in our sense).</item>
/// <item>repetition: share of word trigrams that repeat an earlier trigram of the record (copy-paste padding).</item>
/// <item>function words: a record of 8 or more words whose share of common function words (English and the main
/// Latin-script European languages) is below 8 % scores 0.3 + 0.7·share/0.08: real prose is full of "the", "of",
/// "and"; salad of content words is not. Shorter records (answers, titles) are not penalised.</item>
/// </list>
/// Records scoring below <see cref="Threshold"/> are rejected as low quality. Thread-safe.
/// </summary>
public static class QualityScore
{
    public const double Threshold = 0.5;
    private const double FunctionShare = 0.08;
    private const int FunctionMinWords = 8;

    private static readonly System.Buffers.SearchValues<char> Vowels =
        System.Buffers.SearchValues.Create("aeiouyàáâãäåæèéêëìíîïòóôõöøœùúûüýÿ");

    private static readonly HashSet<string> FunctionWords = new(StringComparer.Ordinal)
    {
        "the", "a", "an", "of", "to", "in", "on", "at", "by", "for", "with", "from", "and", "or", "but", "not", "no",
        "is", "are", "was", "were", "be", "been", "am", "it", "its", "this", "that", "these", "those", "he", "she",
        "they", "we", "you", "i", "me", "him", "her", "them", "us", "my", "your", "his", "their", "our", "as", "if",
        "so", "do", "does", "did", "has", "have", "had", "will", "would", "can", "could", "should", "there", "here",
        "what", "which", "who", "when", "where", "how", "why", "than", "then", "all", "some", "into", "about", "up",
        "out", "very", "also", "just", "only",
        "le", "la", "les", "de", "des", "du", "un", "une", "et", "est", "en", "que", "qui", "pas", "dans", "pour",
        "el", "los", "las", "y", "es", "por", "con", "del", "se", "su", "lo", "al",
        "der", "die", "das", "und", "ist", "nicht", "ein", "eine", "zu", "mit", "den", "von", "im", "auf",
        "il", "di", "che", "non", "per", "da", "o", "do", "em", "um", "uma", "os", "na", "no",
    };

    /// <summary>The score of a record's normalised words (see <see cref="Dedup.TextNormalizer.Words"/>).</summary>
    public static double Of(IReadOnlyList<string> words)
    {
        if (words.Count == 0) return 0;
        int wordLike = 0, function = 0;
        for (int i = 0; i < words.Count; i++)
        {
            if (IsWordLike(words[i])) wordLike++;
            if (FunctionWords.Contains(words[i])) function++;
        }
        double score = (double)wordLike / words.Count * (1 - RepeatedTrigramShare(words));
        if (words.Count >= FunctionMinWords)
        {
            double share = (double)function / words.Count;
            score *= share >= FunctionShare ? 1 : 0.3 + 0.7 * share / FunctionShare;
        }
        return Math.Round(score, 4);
    }

    internal static bool IsWordLike(string token)
    {
        bool digits = true, letters = true, beyondLatin = false;
        foreach (char c in token)
        {
            digits &= char.IsAsciiDigit(c);
            letters &= char.IsLetter(c);
            beyondLatin |= c > 0x24F;
        }
        if (digits) return true;
        if (token.Length > 24 || !letters) return false;
        if (beyondLatin) return true;
        int consonants = 0, same = 1;
        bool vowel = false;
        for (int i = 0; i < token.Length; i++)
        {
            bool isVowel = Vowels.Contains(token[i]);
            vowel |= isVowel;
            consonants = isVowel ? 0 : consonants + 1;
            same = i > 0 && token[i] == token[i - 1] ? same + 1 : 1;
            if (consonants >= 6 || same >= 3) return false;
        }
        return vowel;
    }

    private static double RepeatedTrigramShare(IReadOnlyList<string> words)
    {
        if (words.Count < 6) return 0;
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(words.Count, 1 << 21, nameof(words));
        // Each distinct word gets a number (equal numbers exactly when the words are equal), so a trigram is one
        // 63-bit key: 21 bits a word, and a record has far fewer than 2^21 distinct words (1 MiB at most).
        // Records up to ReusedWords words (nearly all) use this thread's tables, cleared, instead of new ones each:
        // intake scores every record on its worker threads. Larger ones get their own, so the kept tables stay small.
        bool reuse = words.Count <= ReusedWords;
        var ids = reuse ? t_ids ??= new Dictionary<string, long>(ReusedWords, StringComparer.Ordinal)
            : new Dictionary<string, long>(words.Count, StringComparer.Ordinal);
        var seen = reuse ? t_seen ??= new HashSet<long>(ReusedWords) : new HashSet<long>(words.Count);
        ids.Clear();
        seen.Clear();
        Span<long> numbers = reuse ? stackalloc long[words.Count] : new long[words.Count];
        for (int i = 0; i < words.Count; i++)
        {
            if (!ids.TryGetValue(words[i], out var id)) ids[words[i]] = id = ids.Count;
            numbers[i] = id;
        }
        int repeated = 0, total = words.Count - 2;
        for (int i = 0; i < total; i++)
            if (!seen.Add(numbers[i] << 42 | numbers[i + 1] << 21 | numbers[i + 2])) repeated++;
        return (double)repeated / total;
    }

    private const int ReusedWords = 512;
    [ThreadStatic] private static Dictionary<string, long>? t_ids;
    [ThreadStatic] private static HashSet<long>? t_seen;
}
