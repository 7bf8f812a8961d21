using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;

namespace ModelLedger.Rewards.Metering;

/// <summary>
/// Answer support: how much of what a RAG answer *adds* to its question a retrieved document contains. The answer's
/// content words (lower case, English stop words and one-letter tokens dropped, a plural "s" folded) minus the
/// question's own words are the answer's new content; a document's support is the fraction of them found in it
/// (0 when the answer adds nothing). A document stuffed with the question's keywords matches the question, not the
/// answer, so it earns support only where the answer really repeats it. Recorded per document in the metered
/// attribution event (<c>support</c>) and judged at settlement by the <c>no_support</c> rule. Pure; thread-safe.
/// </summary>
public static class AnswerSupport
{
    // The common English function words (NLTK's list, shortened): words that carry no fact of their own.
    private static readonly FrozenSet<string> StopWords = FrozenSet.ToFrozenSet(("a about above after again against "
        + "all am an and any are as at be because been before being below between both but by can could did do does "
        + "doing down during each few for from further had has have having he her here hers herself him himself his "
        + "how if in into is it its itself just me more most my myself no nor not now of off on once only or other "
        + "our ours out over own same she should so some such than that the their theirs them themselves then there "
        + "these they this those through to too under until up very was we were what when where which while who whom "
        + "why will with would you your yours yourself").Split(' '), StringComparer.Ordinal);

    /// <summary>The fraction in [0, 1] of <paramref name="answer"/>'s new content words (those not in
    /// <paramref name="question"/>) that <paramref name="document"/> contains; 0 when the answer adds none.</summary>
    public static double Of(string question, string answer, string document)
    {
        var asked = ContentWords(question);
        var added = ContentWords(answer).Where(w => !asked.Contains(w)).ToList();
        if (added.Count == 0) return 0;
        var found = ContentWords(document);
        return added.Count(found.Contains) / (double)added.Count;
    }

    /// <summary>The set of content words of a text, normalised as described on the class.</summary>
    public static HashSet<string> ContentWords(string text)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in Tokens(text))
        {
            if (token.Length < 2 || StopWords.Contains(token)) continue;
            words.Add(token.Length > 3 && token[^1] == 's' && token[^2] != 's' ? token[..^1] : token);
        }
        return words;
    }

    /// <summary>A stable id for a RAG question (hex SHA-256 of its lower-cased words joined by one space), recorded
    /// in the attribution event so settlement can count how many distinct questions retrieved a document without
    /// the ledger storing the question itself.</summary>
    public static string QueryId(string question) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(' ', Tokens(question)))));

    private static IEnumerable<string> Tokens(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c)) { sb.Append(char.ToLowerInvariant(c)); continue; }
            if (sb.Length > 0) yield return sb.ToString();
            sb.Clear();
        }
        if (sb.Length > 0) yield return sb.ToString();
    }
}
