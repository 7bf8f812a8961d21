using ModelLedger.Datanets.Intake;

namespace ModelLedger.Datanets.Dedup;

/// <summary>
/// Intake's near-duplicate cluster assignment replayed over accepted items in acceptance order, so the stored
/// cluster ids can be re-derived: an item joins the cluster of the earliest earlier item that LSH proposes (the same
/// band keys, so the same candidates) and whose exact shingle Jaccard is at least
/// <see cref="IntakePipeline.ClusterThreshold"/>; otherwise it starts its own cluster, named by its id. (An accepted
/// item had no candidate at or above the near-duplicate threshold, so the earliest one at or above the cluster
/// threshold is the one intake chose.) Not thread-safe.
/// </summary>
internal sealed class ClusterReplay
{
    private readonly DedupIndex _index = new();
    private readonly List<ulong[]> _shingles = [];
    private readonly List<string> _items = [];

    /// <summary>Adds the next accepted item and returns its cluster id (the id of the cluster's first item).</summary>
    public string Add(string item, Analysis a)
    {
        int seq = _index.Count, cluster = seq;
        if (a.Shingles.Length > 0)
            foreach (var candidate in _index.NearCandidates(a.BandKeys))
                if (MinHash.Jaccard(a.Shingles, _shingles[candidate]) >= IntakePipeline.ClusterThreshold)
                {
                    cluster = _index.ClusterOf(candidate);
                    break;
                }
        _index.Add(DedupIndex.ExactKey(a.NormHash), a.BandKeys, cluster);
        _shingles.Add(a.Shingles);
        _items.Add(item);
        return _items[cluster];
    }
}
