namespace ModelLedger.Datanets.Dedup;

/// <summary>
/// What the paraphrase rule compares (docs/datanets.md, "Paraphrases"): the set of a record's normalised prompt
/// words, and its response cut into sentences, each the set of its normalised words (64-bit word hashes, sorted,
/// distinct). A paraphrase that reorders sentences and swaps synonyms keeps the prompt and keeps every sentence
/// recognisable; a templated record that changes a slot (another colour, product or attribute) changes the prompt,
/// and an honest answer to the same prompt brings sentences of its own. Word-level measures cannot tell these apart
/// (a synonym swap and a slot change are both one word replaced by another); the prompt and the sentence structure
/// can. Thread-safe (immutable).
/// </summary>
internal sealed record ParaphraseShape(ulong PromptKey, ulong[] PromptWords, ulong[][] Sentences)
{
    /// <summary>Two sentences match when the Dice coefficient of their word sets is at least this.</summary>
    public const double SentenceMatch = 0.5;

    /// <summary>A same-prompt record whose <see cref="Coverage"/> with an earlier one is at least this is a
    /// paraphrase of it.</summary>
    public const double CoverageThreshold = 0.9;

    private static readonly char[] Terminators = ['.', '!', '?', ';', '\n', '。', '！', '？'];

    /// <summary>The shape of a record with a prompt; null when it has none (text format) or its prompt or response
    /// has no words.</summary>
    public static ParaphraseShape? Of(string? prompt, string? response)
    {
        if (prompt is null || response is null) return null;
        var (key, promptWords) = PromptOf(prompt);
        var sentences = response.Split(Terminators)
            .Select(s => WordSet(TextNormalizer.Words(TextNormalizer.Normalize(s))))
            .Where(s => s.Length > 0).ToArray();
        if (promptWords.Length == 0 || sentences.Length == 0) return null;
        return new ParaphraseShape(key, promptWords, sentences);
    }

    /// <summary>A prompt's word set and its 64-bit key (never 0, the empty slot of <see cref="BandTable"/>).</summary>
    public static (ulong Key, ulong[] Words) PromptOf(string prompt)
    {
        var words = WordSet(TextNormalizer.Words(TextNormalizer.Normalize(prompt)));
        ulong key = 0x70726f6d7074UL;   // "prompt": any fixed seed
        foreach (var w in words) key = MinHash.Mix(key ^ w);
        return (key == 0 ? 1 : key, words);
    }

    public bool SamePrompt(ParaphraseShape other) => PromptWords.AsSpan().SequenceEqual(other.PromptWords);

    /// <summary>The share of both responses' words (counted per sentence, distinct within it) that lie in a sentence
    /// matching some sentence of the other response: 1 when every sentence of each has a counterpart, whatever the
    /// order.</summary>
    public double Coverage(ParaphraseShape other)
    {
        var (matched, total) = Matched(Sentences, other.Sentences);
        var (matchedOther, totalOther) = Matched(other.Sentences, Sentences);
        return (double)(matched + matchedOther) / (total + totalOther);
    }

    private static (int Matched, int Total) Matched(ulong[][] sentences, ulong[][] others)
    {
        int matched = 0, total = 0;
        foreach (var s in sentences)
        {
            total += s.Length;
            foreach (var o in others)
                if (2.0 * MinHash.Shared(s, o) / (s.Length + o.Length) >= SentenceMatch)
                {
                    matched += s.Length;
                    break;
                }
        }
        return (matched, total);
    }

    private static ulong[] WordSet(string[] words)
    {
        var hashes = words.Select(MinHash.WordHash).ToArray();
        Array.Sort(hashes);
        return hashes.Distinct().ToArray();
    }
}
