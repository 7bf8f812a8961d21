using System.Globalization;

namespace ModelLedger.Datanets.Dedup;

/// <summary>
/// The in-memory duplicate index of one datanet, keyed by acceptance sequence number: the first 8 bytes of each
/// accepted item's normalised-text hash (exact duplicates), its LSH band keys (near-duplicate candidates) and its
/// prompt key (paraphrase candidates: records with the same prompt words), plus each item's near-duplicate cluster. It only proposes candidates; the caller confirms them against the full hash or
/// the exact Jaccard of the stored text, so a 64-bit collision can never reject a record. Rebuilt from the stored
/// signatures when a datanet is opened. Not thread-safe.
/// </summary>
internal sealed class DedupIndex
{
    private readonly BandTable _exact = new();
    private readonly BandTable _bands = new();
    private readonly BandTable _prompts = new();
    private readonly List<int> _clusters = [];
    // One answer list per query kind, reused: every record queries each kind once; a list stays valid until the next
    // query of its kind (callers finish iterating before asking again).
    private readonly List<int> _exactFound = [], _nearFound = [], _promptFound = [];

    public int Count => _clusters.Count;

    /// <summary>Bytes held by the index's arrays (what grows per item).</summary>
    public long Bytes => _exact.Bytes + _bands.Bytes + _prompts.Bytes + (long)_clusters.Capacity * sizeof(int);

    public static ulong ExactKey(string normalizedHashHex)
    {
        ulong key = ulong.Parse(normalizedHashHex.AsSpan(0, 16), NumberStyles.AllowHexSpecifier,
            CultureInfo.InvariantCulture);
        return key == 0 ? 1 : key;
    }

    /// <summary>Adds the item with sequence number <see cref="Count"/> (prompt key 0: it has no prompt).</summary>
    public void Add(ulong exactKey, ulong[] bandKeys, int clusterSeq, ulong promptKey = 0)
    {
        int seq = _clusters.Count;
        _clusters.Add(clusterSeq);
        _exact.Add(exactKey, seq);
        foreach (var key in bandKeys) _bands.Add(key, seq);
        if (promptKey != 0) _prompts.Add(promptKey, seq);
    }

    /// <summary>Items whose prompt key is <paramref name="promptKey"/>, earliest first (valid until the next call).
    /// </summary>
    public List<int> PromptCandidates(ulong promptKey) => Sorted(_prompts, promptKey, _promptFound);

    private static List<int> Sorted(BandTable table, ulong key, List<int> found)
    {
        found.Clear();
        table.Find(key, found);
        found.Sort();
        return found;
    }

    public int ClusterOf(int seq) => _clusters[seq];

    /// <summary>Items whose exact key is <paramref name="exactKey"/>, earliest first (valid until the next call).
    /// </summary>
    public List<int> ExactCandidates(ulong exactKey) => Sorted(_exact, exactKey, _exactFound);

    /// <summary>Items sharing at least one band with the signature, earliest first, each once (valid until the next
    /// call).</summary>
    public List<int> NearCandidates(ulong[] bandKeys)
    {
        var found = _nearFound;
        found.Clear();
        foreach (var key in bandKeys) _bands.Find(key, found);
        found.Sort();
        int n = 0;
        for (int i = 0; i < found.Count; i++)
            if (i == 0 || found[i] != found[i - 1]) found[n++] = found[i];
        found.RemoveRange(n, found.Count - n);
        return found;
    }
}
