using ModelLedger.Rewards.Metering;

namespace ModelLedger.Attribution.Influence;

/// <summary>
/// Training-data attribution for a billed inference from the active adapter's gradient index
/// (<c>ADAPTER/attribution/</c>, built by <c>attribution: true</c> training or <c>mledger attribution index</c>):
/// TracIn-CP with the damped-Fisher (DataInf-style) score, the prompt as the user turn and the completion as the
/// answer through the index's
/// template, summed per contributor (docs/attribution.md). Opened before generating, so a broken index fails before
/// anything is billed. Owns a second copy of the model with the adapter's gradients; dispose it. Not thread-safe:
/// the CLI calls it from one thread, the server serialises calls per adapter.
/// </summary>
public sealed class IndexAttributionHook : IAttributionHook, IDisposable
{
    /// <summary>The score billing uses. Fisher, not cosine: at the benchmark's default size cosine named the planted
    /// canary's contributor for 4 of 5 canaries, the Fisher and dot scores for 5 of 5 (docs/attribution.md, "Why not
    /// cosine for billing"); the Fisher score costs the same scan plus one k×k product per checkpoint.</summary>
    public const InfluenceScore Score = InfluenceScore.Fisher;
    private readonly InfluenceAttributor _attributor;

    private IndexAttributionHook(InfluenceAttributor attributor) => _attributor = attributor;

    /// <summary>The index folder of an adapter, or null when it has none.</summary>
    public static string? IndexOf(string? adapterDir) =>
        adapterDir is not null && File.Exists(Path.Combine(adapterDir, "attribution", "index.json"))
            ? Path.Combine(adapterDir, "attribution") : null;

    /// <summary>A hook for the adapter's index, or null when the adapter has none (nothing is attributed then).</summary>
    public static IndexAttributionHook? Open(string? adapterDir, string baseModel, string device) =>
        IndexOf(adapterDir) is string index
            ? new(InfluenceAttributor.Open(index, baseModel, adapterDir, device)) : null;

    public InferenceAttribution Attribute(string inference, string prompt, string completion)
    {
        var manifest = _attributor.Index.Manifest;
        var method = InfluenceAttributor.MethodName(Score);
        var root = manifest.SnapshotRoot ?? _attributor.Index.Hash;
        if (Query(prompt, completion) is not { } sample) return new(new Dictionary<string, double>(), [], method, root);
        var shares = ContributorShares.From(_attributor.Index.Owners, _attributor.Scores(sample, Score));
        return new(shares.ToDictionary(s => s.Contributor, s => s.Share, StringComparer.Ordinal), [], method, root);
    }

    /// <summary>The query sample, or null when nothing of the completion survives the index's template and cutoff
    /// (an empty answer: nothing to attribute, so the scores are empty).</summary>
    private Tuning.Data.EncodedSample? Query(string prompt, string completion)
    {
        try { return _attributor.Encode(prompt, completion); }
        catch (UserError) { return null; }
    }

    public void Dispose() => _attributor.Dispose();
}
