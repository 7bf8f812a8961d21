namespace ModelLedger.Evaluation.Metrics;

/// <summary>
/// The Porter stemmer in NLTK's default mode (NLTK_EXTENSIONS), which Google's rouge_score uses: the 1980 algorithm
/// plus NLTK's irregular-form pool, short-word guard, "ies"/"ied" on 4-letter words, the y→i consonant rule, "alli"
/// first, "bli"→"ble", "fulli" and "logi", and the 2-letter CVC case. Stateless and thread-safe.
/// </summary>
public static class PorterStemmer
{
    private static readonly Dictionary<string, string> Pool = new(StringComparer.Ordinal)
    {
        ["sky"] = "sky", ["skies"] = "sky", ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie", ["news"] = "news",
        ["innings"] = "inning", ["inning"] = "inning", ["outings"] = "outing", ["outing"] = "outing", ["cannings"] = "canning",
        ["canning"] = "canning", ["howe"] = "howe", ["proceed"] = "proceed", ["exceed"] = "exceed", ["succeed"] = "succeed",
    };

    private delegate bool Condition(string stem);

    private sealed record Rule(string Suffix, string Replacement, Condition? When);

    public static string Stem(string word)
    {
        var stem = word.ToLowerInvariant();
        if (Pool.TryGetValue(stem, out var irregular)) return irregular;
        if (stem.Length <= 2) return stem;
        stem = Step1A(stem);
        stem = Step1B(stem);
        stem = Step1C(stem);
        stem = Step2(stem);
        stem = Step3(stem);
        stem = Step4(stem);
        stem = Step5A(stem);
        return Step5B(stem);
    }

    private static bool IsConsonant(string w, int i) =>
        w[i] is not ('a' or 'e' or 'i' or 'o' or 'u') && (w[i] != 'y' || i == 0 || !IsConsonant(w, i - 1));

    /// <summary>m in [C](VC)^m[V]: the number of vowel→consonant transitions.</summary>
    private static int Measure(string stem)
    {
        int m = 0;
        for (int i = 1; i < stem.Length; i++) if (!IsConsonant(stem, i - 1) && IsConsonant(stem, i)) m++;
        return m;
    }

    private static bool PositiveMeasure(string stem) => Measure(stem) > 0;
    private static bool ContainsVowel(string stem) => Enumerable.Range(0, stem.Length).Any(i => !IsConsonant(stem, i));
    private static bool EndsDoubleConsonant(string w) => w.Length >= 2 && w[^1] == w[^2] && IsConsonant(w, w.Length - 1);

    private static bool EndsCvc(string w) =>
        (w.Length >= 3 && IsConsonant(w, w.Length - 3) && !IsConsonant(w, w.Length - 2) && IsConsonant(w, w.Length - 1) && w[^1] is not ('w' or 'x' or 'y'))
        || (w.Length == 2 && !IsConsonant(w, 0) && IsConsonant(w, 1));

    private static string Cut(string w, string suffix) => w[..^suffix.Length];

    /// <summary>The first rule whose suffix matches decides: applied if its condition holds, otherwise the word stays.</summary>
    private static string Apply(string word, IEnumerable<Rule> rules)
    {
        foreach (var (suffix, replacement, when) in rules)
        {
            if (suffix == "*d" && EndsDoubleConsonant(word))
            {
                var stem = word[..^2];
                return when is null || when(stem) ? stem + replacement : word;
            }
            if (suffix != "*d" && word.EndsWith(suffix, StringComparison.Ordinal))
            {
                var stem = Cut(word, suffix);
                return when is null || when(stem) ? stem + replacement : word;
            }
        }
        return word;
    }

    private static string Step1A(string w)
    {
        if (w.EndsWith("ies", StringComparison.Ordinal) && w.Length == 4) return Cut(w, "ies") + "ie";
        return Apply(w, [new("sses", "ss", null), new("ies", "i", null), new("ss", "ss", null), new("s", "", null)]);
    }

    private static string Step1B(string w)
    {
        if (w.EndsWith("ied", StringComparison.Ordinal)) return Cut(w, "ied") + (w.Length == 4 ? "ie" : "i");
        if (w.EndsWith("eed", StringComparison.Ordinal))
        {
            var stem = Cut(w, "eed");
            return Measure(stem) > 0 ? stem + "ee" : w;
        }
        string? intermediate = null;
        foreach (var suffix in new[] { "ed", "ing" })
            if (w.EndsWith(suffix, StringComparison.Ordinal) && ContainsVowel(Cut(w, suffix))) { intermediate = Cut(w, suffix); break; }
        if (intermediate is null) return w;
        return Apply(intermediate,
        [
            new("at", "ate", null), new("bl", "ble", null), new("iz", "ize", null),
            new("*d", intermediate[^1].ToString(), _ => intermediate[^1] is not ('l' or 's' or 'z')),
            new("", "e", stem => Measure(stem) == 1 && EndsCvc(stem)),
        ]);
    }

    private static string Step1C(string w) =>
        Apply(w, [new("y", "i", stem => stem.Length > 1 && IsConsonant(stem, stem.Length - 1))]);

    private static string Step2(string w)
    {
        if (w.EndsWith("alli", StringComparison.Ordinal) && PositiveMeasure(Cut(w, "alli"))) return Step2(Cut(w, "alli") + "al");
        Condition m = PositiveMeasure;
        return Apply(w,
        [
            new("ational", "ate", m), new("tional", "tion", m), new("enci", "ence", m), new("anci", "ance", m), new("izer", "ize", m),
            new("bli", "ble", m), new("alli", "al", m), new("entli", "ent", m), new("eli", "e", m), new("ousli", "ous", m),
            new("ization", "ize", m), new("ation", "ate", m), new("ator", "ate", m), new("alism", "al", m), new("iveness", "ive", m),
            new("fulness", "ful", m), new("ousness", "ous", m), new("aliti", "al", m), new("iviti", "ive", m), new("biliti", "ble", m),
            new("fulli", "ful", m), new("logi", "log", _ => PositiveMeasure(w[..^3])),
        ]);
    }

    private static string Step3(string w)
    {
        Condition m = PositiveMeasure;
        return Apply(w, [new("icate", "ic", m), new("ative", "", m), new("alize", "al", m), new("iciti", "ic", m), new("ical", "ic", m), new("ful", "", m), new("ness", "", m)]);
    }

    private static string Step4(string w)
    {
        Condition m = stem => Measure(stem) > 1;
        return Apply(w,
        [
            new("al", "", m), new("ance", "", m), new("ence", "", m), new("er", "", m), new("ic", "", m), new("able", "", m), new("ible", "", m),
            new("ant", "", m), new("ement", "", m), new("ment", "", m), new("ent", "", m),
            new("ion", "", stem => Measure(stem) > 1 && stem.Length > 0 && stem[^1] is 's' or 't'),
            new("ou", "", m), new("ism", "", m), new("ate", "", m), new("iti", "", m), new("ous", "", m), new("ive", "", m), new("ize", "", m),
        ]);
    }

    private static string Step5A(string w)
    {
        if (!w.EndsWith('e')) return w;
        var stem = w[..^1];
        int m = Measure(stem);
        return m > 1 || (m == 1 && !EndsCvc(stem)) ? stem : w;
    }

    private static string Step5B(string w) => Apply(w, [new("ll", "l", _ => Measure(w[..^1]) > 1)]);
}
