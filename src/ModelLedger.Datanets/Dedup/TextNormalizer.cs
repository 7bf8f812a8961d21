using System.Buffers;
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

    /// <summary>Per ASCII character: 0 separates words (whitespace, punctuation, symbols), 1 is dropped (control),
    /// otherwise the lower-case character kept. Built with the same predicates as the general path, so the ASCII
    /// fast path gives the same text by construction.</summary>
    private static readonly char[] Ascii = BuildAsciiTable();

    public static string Normalize(string text)
    {
        if (IsAscii(text)) return NormalizeAscii(text);
        var nfkc = Nfkc.Normalize(text);
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

    /// <summary><see cref="Normalize"/> for ASCII text (NFKC leaves it unchanged): one table lookup a character.
    /// </summary>
    private static string NormalizeAscii(string text)
    {
        var buffer = text.Length <= 1024 ? stackalloc char[text.Length] : new char[text.Length];
        int n = 0;
        bool space = false;
        foreach (char c in text)
        {
            char mapped = Ascii[c];
            if (mapped == '\0')
            {
                space = n > 0;
                continue;
            }
            if (mapped == '\u0001') continue;
            if (space) buffer[n++] = ' ';
            space = false;
            buffer[n++] = mapped;
        }
        return new string(buffer[..n]);
    }

    private static char[] BuildAsciiTable()
    {
        var table = new char[128];
        for (int c = 0; c < 128; c++)
        {
            var rune = new Rune(c);
            var category = Rune.GetUnicodeCategory(rune);
            table[c] = Rune.IsWhiteSpace(rune) || IsPunctuationOrSymbol(category) ? '\0'
                : category is UnicodeCategory.Control or UnicodeCategory.Format ? '\u0001'
                : (char)Rune.ToLowerInvariant(rune).Value;
        }
        return table;
    }

    /// <summary>The exact-duplicate key: SHA-256 of the normalised text, lower-case hex.</summary>
    public static string Hash(string normalized)
    {
        // The UTF-8 bytes in a stack or pooled buffer and the digest on the stack: only the hex string is kept.
        int max = Encoding.UTF8.GetMaxByteCount(normalized.Length);
        byte[]? rented = null;
        Span<byte> utf8 = max <= 4096 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(normalized, utf8)], digest);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return Convert.ToHexStringLower(digest);
    }

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
