using System.Diagnostics;
using System.Security.Cryptography;
using ModelLedger.Attribution.Snapshots;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Attribution.Spans;

/// <summary>What a build cost: tokens indexed, seconds spent tokenising and sorting, file size.</summary>
internal sealed record SpanIndexBuild(long Tokens, double TokenizeSeconds, double SortSeconds, long FileBytes)
{
    public double BytesPerToken => Tokens == 0 ? 0 : (double)FileBytes / Tokens;
}

/// <summary>
/// Where a snapshot's span index lives and when it is (re)built. The default file is
/// <c>SNAPSHOT/spans/&lt;first 16 hex of the tokenizer.json SHA-256&gt;.mlsa</c>: one index per tokenizer, built on
/// first use. An index whose header names other snapshot content or another tokenizer is never replaced silently.
/// </summary>
internal static class SpanIndexStore
{
    public static string DefaultPath(string snapshotDirectory, string tokenizerHash) =>
        Path.Combine(snapshotDirectory, "spans", tokenizerHash[..16] + ".mlsa");

    public static string TokenizerHash(TextTokenizer tokenizer) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(tokenizer.Directory, "tokenizer.json"))));

    /// <summary>Opens the index for this snapshot and tokenizer, building it when absent (or when
    /// <paramref name="rebuild"/>). Build is null when an existing index was opened.</summary>
    public static (SpanIndex Index, SpanIndexBuild? Build) OpenOrBuild(SnapshotFolder snapshot, TextTokenizer tokenizer, string? path, bool rebuild)
    {
        var tokenizerHash = TokenizerHash(tokenizer);
        path ??= DefaultPath(snapshot.Directory, tokenizerHash);
        SpanIndexBuild? build = null;
        if (rebuild || !File.Exists(path)) build = Build(snapshot, tokenizer, tokenizerHash, path);
        var index = SpanIndex.Open(path);
        var stale = index.Header.TokenizerHash != tokenizerHash ? "another tokenizer"
            : index.Header.ContentHash != snapshot.ContentHash ? "other snapshot content" : null;
        if (stale is null) return (index, build);
        index.Dispose();
        throw new UserError($"the span index was built from {stale}", file: path, hint: "pass --rebuild to replace it");
    }

    public static SpanIndexBuild Build(SnapshotFolder snapshot, TextTokenizer tokenizer, string tokenizerHash, string path)
    {
        var watch = Stopwatch.StartNew();
        var corpus = TokenCorpus.Of(snapshot, tokenizer);
        double tokenize = watch.Elapsed.TotalSeconds;
        var (suffixes, sort) = Sort(corpus);
        SpanIndexFile.Write(path, corpus, suffixes, tokenizerHash, snapshot.ContentHash);
        return new SpanIndexBuild(suffixes.Length, tokenize, sort, new FileInfo(path).Length);
    }

    /// <summary>Writes an index over an already tokenised corpus (benchmarks, tests).</summary>
    public static SpanIndexBuild Build(TokenCorpus corpus, string tokenizerHash, string contentHash, string path)
    {
        var (suffixes, sort) = Sort(corpus);
        SpanIndexFile.Write(path, corpus, suffixes, tokenizerHash, contentHash);
        return new SpanIndexBuild(suffixes.Length, 0, sort, new FileInfo(path).Length);
    }

    /// <summary>Re-derives the index from the snapshot and compares it with the file, array by array (the header's
    /// sizes were checked against the file length on open). Returns the first difference, or null when the file
    /// holds exactly what a fresh build writes.</summary>
    public static string? Verify(SnapshotFolder snapshot, TextTokenizer tokenizer, SpanIndex index)
    {
        var corpus = TokenCorpus.Of(snapshot, tokenizer);
        var suffixes = SuffixArrayBuilder.Build(corpus.Tokens);
        if (index.Header.ContentHash != snapshot.ContentHash) return "the header's content hash is not the snapshot's";
        if (index.Header.TokenizerHash != TokenizerHash(tokenizer)) return "the header's tokenizer hash is not the tokenizer's";
        if (!index.Tokens.SequenceEqual(corpus.Tokens)) return "the tokens differ from a fresh tokenisation";
        if (!index.Suffixes.SequenceEqual(suffixes)) return "the suffix array differs from a fresh build";
        if (!index.SegmentStarts.SequenceEqual(corpus.SegmentStarts) || !index.SegmentRows.SequenceEqual(corpus.SegmentRows))
            return "the segment table differs from a fresh build";
        return null;
    }

    private static (int[] Suffixes, double Seconds) Sort(TokenCorpus corpus)
    {
        var watch = Stopwatch.StartNew();
        var suffixes = SuffixArrayBuilder.Build(corpus.Tokens);
        return (suffixes, watch.Elapsed.TotalSeconds);
    }
}
