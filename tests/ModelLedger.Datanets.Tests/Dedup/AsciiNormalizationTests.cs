using System.Globalization;
using System.Text;

namespace ModelLedger.Datanets.Dedup;

public sealed class AsciiNormalizationTests
{
    /// <summary>The rune-by-rune rule as docs/datanets.md states it (whitespace, punctuation and symbols separate
    /// words; control characters vanish; the rest is lower-cased), written out here as the reference the ASCII fast
    /// path must agree with: stored normalised hashes are re-derived by <c>datanet verify</c>.</summary>
    private static string Reference(string text)
    {
        var sb = new StringBuilder();
        bool space = false;
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            bool separator = Rune.IsWhiteSpace(rune) || category is UnicodeCategory.ConnectorPunctuation
                or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation
                or UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol;
            if (separator)
            {
                space = sb.Length > 0;
                continue;
            }
            if (category is UnicodeCategory.Control or UnicodeCategory.Format) continue;
            if (space) sb.Append(' ');
            space = false;
            sb.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        return sb.ToString();
    }

    [Fact]
    public void Normalize_AgreesWithTheReference_OnEveryAsciiCharacterAndRandomAsciiText()
    {
        var every = new string(Enumerable.Range(0, 128).Select(c => (char)c).ToArray());
        Assert.Equal(Reference(every), TextNormalizer.Normalize(every));
        var rng = new Random(5);
        for (int i = 0; i < 2_000; i++)
        {
            var text = new string(Enumerable.Range(0, rng.Next(0, 60)).Select(_ => (char)rng.Next(0, 128)).ToArray());
            Assert.Equal(Reference(text), TextNormalizer.Normalize(text));
        }
    }

    [Fact]
    public void Normalize_Ascii_MatchesHandWorkedExample()
    {
        // By hand: tab and "--" separate, the BEL control character vanishes, letters lower-case.
        Assert.Equal("a b c1 de", TextNormalizer.Normalize("\t A--b\tC1! D\u0007E ."));
    }
}
