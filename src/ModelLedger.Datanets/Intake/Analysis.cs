using ModelLedger.Datanets.Dedup;
using ModelLedger.Datanets.Quality;
using ModelLedger.Datanets.Records;

namespace ModelLedger.Datanets.Intake;

/// <summary>Everything intake derives from a record's text, independent of what is already stored (so it runs in
/// parallel): normalised-text hash, words, shingles, MinHash signature, band keys, quality score, and for records
/// with a prompt the <see cref="ParaphraseShape"/> (null otherwise, and when analysed from the text alone).</summary>
internal sealed record Analysis(string NormHash, int Length, int Words, ulong[] Shingles, uint[] Signature,
    ulong[] BandKeys, double Quality, ParaphraseShape? Shape = null)
{
    public static Analysis Of(ContentRecord record) =>
        Of(record.Text) with { Shape = ParaphraseShape.Of(record.Prompt, record.Response) };

    public static Analysis Of(string text)
    {
        var normalized = TextNormalizer.Normalize(text);
        var words = TextNormalizer.Words(normalized);
        var shingles = MinHash.Shingles(words);
        var signature = MinHash.Signature(shingles);
        return new Analysis(TextNormalizer.Hash(normalized), text.Length, words.Length, shingles, signature,
            MinHash.BandKeys(signature), QualityScore.Of(words));
    }
}
