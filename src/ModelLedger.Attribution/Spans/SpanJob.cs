using System.Diagnostics;
using ModelLedger.Attribution.Snapshots;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Attribution.Spans;

/// <summary>What <c>mledger spans</c> asks for. Without <see cref="Text"/> the job only builds (or opens) and, with
/// <see cref="Verify"/>, re-derives the index.</summary>
internal sealed record SpanRequest(string Snapshot, string TokenizerDirectory, string? Text, int MinTokens = 6, int MaxSources = 10,
    string? IndexPath = null, bool Rebuild = false, bool Verify = false, string? Workspace = null, string? Db = null,
    string? Inference = null);

/// <summary>The index used: its file, size, and the build's cost when this run built it.</summary>
internal sealed record SpanIndexInfo(string Path, long Tokens, long FileBytes, double BytesPerToken, SpanIndexBuild? Build);

/// <summary><see cref="Verified"/> is null when not asked; <see cref="VerifyProblem"/> says what differs when false.</summary>
internal sealed record SpanResult(SpanIndexInfo Index, SpanReport? Report, double QueryMs, string? Inference, string? LedgerLeafHash,
    bool? Verified, string? VerifyProblem);

/// <summary>Opens the snapshot and tokenizer, opens or builds the span index, answers the query and records the
/// attribution in the ledger when a workspace is given. Validates every input before writing anything.</summary>
internal static class SpanJob
{
    public static SpanResult Run(SpanRequest request)
    {
        if (request.MinTokens < 1) throw new UserError($"must be ≥ 1 (got {request.MinTokens})", field: "--min-tokens");
        if (request.MaxSources < 1) throw new UserError($"must be ≥ 1 (got {request.MaxSources})", field: "--max-sources");
        if (request.Text is { Length: 0 }) throw new UserError("is empty", field: "--text");
        AttributionEvent.RequireWorkspace(request.Workspace);
        var snapshot = SnapshotFolder.Open(request.Snapshot);
        using var tokenizer = TextTokenizer.Load(request.TokenizerDirectory);
        var (index, build) = SpanIndexStore.OpenOrBuild(snapshot, tokenizer, request.IndexPath, request.Rebuild);
        using var _ = index;
        var info = new SpanIndexInfo(index.Path, index.SuffixCount, index.FileBytes,
            index.SuffixCount == 0 ? 0 : (double)index.FileBytes / index.SuffixCount, build);
        var problem = request.Verify ? SpanIndexStore.Verify(snapshot, tokenizer, index) : null;
        bool? verified = request.Verify ? problem is null : null;
        if (request.Text is not string text) return new SpanResult(info, null, 0, null, null, verified, problem);
        var watch = Stopwatch.StartNew();
        var report = new SpanAttribution(snapshot, index, tokenizer).Attribute(text, request.MinTokens, request.MaxSources);
        double ms = watch.Elapsed.TotalMilliseconds;
        var inference = request.Inference ?? AttributionEvent.IdFor(SpanAttribution.Method, text);
        var leaf = request.Workspace is string ws
            ? AttributionEvent.Append(ws, request.Db, inference, SpanAttribution.Method, report.Contributors, report.IndexRoot,
                [snapshot.LedgerLeafHash, request.Inference])
            : null;
        return new SpanResult(info, report, ms, inference, leaf, verified, problem);
    }
}
