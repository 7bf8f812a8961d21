using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ICU4N.Text;

namespace ModelLedger.Datanets.Dedup;

/// <summary>
/// The text duplicate detection compares: Unicode NFKC (full-width, ligatures, compatibility digits fold to their
/// plain forms), lower case, punctuation and symbols removed, runs of whitespace collapsed to one space. NFKC comes
/// from ICU4N because the apps run with InvariantGlobalization, where <c>string.Normalize</c> silently returns its
/// input unchanged for non-ASCII text. Thread-safe.
/// </summary>
internal static class TextNormalizer
{
    private static readonly Normalizer2 Nfkc = Normalizer2.NFKCInstance;

    public static string Normalize(string text)
    {
        var nfkc = IsAscii(text) ? text : Nfkc.Normalize(text);
        var sb = new StringBuilder(nfkc.Length);
        bool space = false;
        Span<char> utf16 = stackalloc char[2];
        foreach (var rune in nfkc.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (Rune.IsWhiteSpace(rune) || IsPunctuationOrSymbol(category))
            {
                space = sb.Length > 0;
                continue;
            }
            if (category is UnicodeCategory.Control or UnicodeCategory.Format) continue;
            if (space) sb.Append(' ');
            space = false;
            sb.Append(utf16[..Rune.ToLowerInvariant(rune).EncodeToUtf16(utf16)]);
        }
        return sb.ToString();
    }

    /// <summary>The exact-duplicate key: SHA-256 of the normalised text, lower-case hex.</summary>
    public static string Hash(string normalized) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));

    public static string[] Words(string normalized) =>
        normalized.Length == 0 ? [] : normalized.Split(' ');

    private static bool IsAscii(string s)
    {
        foreach (char c in s) if (c > 0x7F) return false;
        return true;
    }

    private static bool IsPunctuationOrSymbol(UnicodeCategory c) => c is UnicodeCategory.ConnectorPunctuation
        or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
        or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
        or UnicodeCategory.OtherPunctuation or UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol
        or UnicodeCategory.ModifierSymbol or UnicodeCategory.OtherSymbol;
}
