using System.Text;
using System.Text.RegularExpressions;

namespace ModelLedger.Evaluation.Metrics;

/// <summary>
/// jieba 0.42.1's default <c>cut</c> (cut_all=False, HMM=True) where its dictionary has nothing to say, which is the
/// case for Latin text, digits, punctuation, whitespace and emoji:
/// <list type="bullet">
/// <item>the text is split into runs of <c>[\u4E00-\u9FD5a-zA-Z0-9+#&amp;._%-]</c> (re_han_default) and the rest;</item>
/// <item>outside those runs every whitespace character (and "\r\n") is a token, and every other character (code
/// point) is a token of its own;</item>
/// <item>a run of one character is that token; a longer run goes to finalseg, which keeps letter/digit runs with a
/// decimal part and a trailing % (<c>[a-zA-Z0-9]+(?:\.\d+)?%?</c>) and the text between them as tokens.</item>
/// </list>
/// Not reproduced: jieba's dictionary words (a Latin run only differs when a dictionary entry such as an upper-case
/// acronym sits inside a longer run) and its HMM over Chinese characters: each CJK character is one token here.
/// </summary>
public static partial class JiebaCut
{
    [GeneratedRegex(@"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+")] private static partial Regex HanRun();
    [GeneratedRegex(@"[a-zA-Z0-9]+(?:\.[0-9]+)?%?")] private static partial Regex LatinRun();

    public static List<string> Cut(string text)
    {
        var tokens = new List<string>();
        int at = 0;
        foreach (Match run in HanRun().Matches(text))
        {
            Outside(text.AsSpan(at, run.Index - at), tokens);
            Inside(run.Value, tokens);
            at = run.Index + run.Length;
        }
        Outside(text.AsSpan(at), tokens);
        return tokens;
    }

    private static void Inside(string run, List<string> tokens)
    {
        if (run.Length == 1) { tokens.Add(run); return; }
        int at = 0;
        foreach (Match latin in LatinRun().Matches(run))
        {
            Finalseg(run[at..latin.Index], tokens);
            tokens.Add(latin.Value);
            at = latin.Index + latin.Length;
        }
        Finalseg(run[at..], tokens);
    }

    /// <summary>Text between letter/digit runs: CJK characters one by one, anything else as one piece.</summary>
    private static void Finalseg(string piece, List<string> tokens)
    {
        var other = new StringBuilder();
        foreach (char c in piece)
        {
            if (c is >= '\u4E00' and <= '\u9FD5')
            {
                if (other.Length > 0) { tokens.Add(other.ToString()); other.Clear(); }
                tokens.Add(c.ToString());
            }
            else other.Append(c);
        }
        if (other.Length > 0) tokens.Add(other.ToString());
    }

    private static void Outside(ReadOnlySpan<char> text, List<string> tokens)
    {
        for (int i = 0; i < text.Length;)
        {
            if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n') { tokens.Add("\r\n"); i += 2; continue; }
            Rune.DecodeFromUtf16(text[i..], out var rune, out int used);
            tokens.Add(rune.ToString());
            i += used;
        }
    }

    /// <summary>Python's <c>str.isspace</c> (what <c>\s</c> and <c>str.split()</c> use): .NET's whitespace plus the
    /// separators U+001C..U+001F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    /// <summary>Python's <c>str.split()</c> with no argument.</summary>
    public static string[] SplitOnSpace(string text)
    {
        var parts = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool space = i == text.Length || IsSpace(text[i]);
            if (space && start >= 0) { parts.Add(text[start..i]); start = -1; }
            else if (!space && start < 0) start = i;
        }
        return [.. parts];
    }
}
