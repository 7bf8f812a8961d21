using ModelLedger.Attribution.Snapshots;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Attribution.Spans;

/// <summary>
/// A snapshot's texts as one token sequence: each text (a record field or conversation turn) is a segment of token
/// ids followed by the separator -1. <see cref="SegmentRows"/>[s] is the snapshot row segment s came from.
/// </summary>
internal sealed record TokenCorpus(int[] Tokens, int[] SegmentStarts, int[] SegmentRows)
{
    public const int Separator = -1;

    /// <summary>Tokenises every text of every row with <paramref name="tokenizer"/>, without special tokens (BOS would
    /// otherwise open every segment and match every query's start).</summary>
    public static TokenCorpus Of(SnapshotFolder snapshot, TextTokenizer tokenizer)
    {
        var tokens = new List<int>();
        var starts = new List<int>();
        var rows = new List<int>();
        foreach (var row in snapshot.Rows)
            foreach (var text in row.Texts)
            {
                var ids = tokenizer.Encode(text);
                if (ids.Length == 0) continue;
                starts.Add(tokens.Count);
                rows.Add(row.Row);
                tokens.AddRange(ids);
                tokens.Add(Separator);
            }
        return new TokenCorpus(tokens.ToArray(), starts.ToArray(), rows.ToArray());
    }
}
