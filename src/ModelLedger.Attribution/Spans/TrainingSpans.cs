using ModelLedger.Attribution.Influence;
using ModelLedger.Attribution.Snapshots;

namespace ModelLedger.Attribution.Spans;

/// <summary>The spans of a text found verbatim in the snapshot an adapter was trained on, or why there are none.
/// <see cref="Spans"/> is null exactly when <see cref="Reason"/> says why (no training snapshot known).</summary>
internal sealed record TrainingSpanResult(string? SnapshotRoot, SpanResult? Spans, string? Reason);

/// <summary>
/// Exact spans of an answer in the adapter's training data, for a server's chat (the same <see cref="SpanJob"/> as
/// <c>mledger spans</c>, without a ledger event: the spans are shown, the fee is split by the call's own attribution).
/// The training snapshot is the one the adapter's gradient index names (<c>ADAPTER/attribution/index.json</c>:
/// dataset_dir and snapshot_root, written by <c>attribution: true</c> training); an adapter without one, or whose
/// folder no longer holds that snapshot, has no known training data. The suffix array is built on first use under
/// the snapshot's <c>spans/</c> folder; builds are serialised so concurrent first calls do not build it twice.
/// </summary>
internal static class TrainingSpans
{
    private static readonly Lock Build = new();

    public static TrainingSpanResult Find(string? adapterDirectory, string tokenizerDirectory, string text, int minTokens,
        int maxSources = 10)
    {
        if (adapterDirectory is null) return new(null, null, "the base model has no training snapshot of its own");
        if (IndexAttributionHook.IndexOf(adapterDirectory) is not string index)
            return new(null, null, "this adapter has no attribution index naming its training snapshot " +
                "(train it with attribution: true)");
        var manifest = GradientIndex.ReadManifest(index);
        if (!File.Exists(Path.Combine(manifest.DatasetDir, SnapshotFolder.ProvenanceFile)))
            return new(manifest.SnapshotRoot, null, $"the training data ({manifest.DatasetDir}) is not a datanet snapshot");
        var snapshot = SnapshotFolder.Open(manifest.DatasetDir);
        if (manifest.SnapshotRoot is string root && snapshot.Root != root)
            return new(root, null, $"the folder {manifest.DatasetDir} now holds snapshot {snapshot.Root}, not {root}");
        var request = new SpanRequest(manifest.DatasetDir, tokenizerDirectory, text, minTokens, maxSources);
        lock (Build) return new(snapshot.IndexRoot, SpanJob.Run(request), null);
    }
}
