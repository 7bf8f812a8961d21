namespace ModelLedger.Bench.Peers;

/// <summary>One of our rows next to the peer's row of the same kind and batch: Ratio = ours / peer's.</summary>
public sealed record PeerComparisonRow(string Scenario, int Batch, double Ours, string PeerKvType, int PeerThreads,
    double Peer)
{
    public double Ratio => Ours / Peer;
}

/// <summary>Pairs <see cref="GenerateBenchmark"/>'s rows with a peer's: prefill with the peer's batch-1 prefill of
/// each KV-cache type it ran; each KV-cache decode row of ours ("decode, f16 KV, C# step", "decode, f32 KV,
/// libtorch", …) with the peer's decode row of the same batch and the same KV-cache type, against the peer's fastest
/// thread count for that row (its best here). Rows without a counterpart (no-cache decode, a KV type the peer did
/// not run) are left out.</summary>
public static class PeerComparison
{
    public static IReadOnlyList<PeerComparisonRow> Of(IReadOnlyList<BenchRow> ours, PeerReport peer) =>
        Of(ours, peer.Rows);

    /// <summary>The same pairing against any peer's rows (llama-bench's: batch-1 decode only).</summary>
    public static IReadOnlyList<PeerComparisonRow> Of(IReadOnlyList<BenchRow> ours, IReadOnlyList<PeerRow> peer)
    {
        var rows = new List<PeerComparisonRow>();
        foreach (var kv in peer.Select(r => r.KvType).Distinct())
            foreach (var our in ours)
            {
                var (kind, batch) = our.Scenario.StartsWith("prefill", StringComparison.Ordinal) ? ("prefill", 1)
                    : our.Scenario.StartsWith($"decode, {kv} KV", StringComparison.Ordinal) ? ("decode", our.Batch)
                    : (null, 0);
                var match = peer.Where(r => r.Scenario == kind && r.Batch == batch && r.KvType == kv)
                    .MaxBy(r => r.TokensPerSecond);
                if (match is not null)
                    rows.Add(new PeerComparisonRow(our.Scenario, our.Batch, our.TokensPerSecond, kv, match.Threads,
                        match.TokensPerSecond));
            }
        return rows;
    }

    public const string NodePeer = "node-llama-cpp", BenchPeer = "llama-bench";

    /// <summary>The node script's pairs and llama-bench's, each named by its peer, in the order of our rows (the
    /// node script's first where both pair with one of ours).</summary>
    public static IReadOnlyList<(string Peer, PeerComparisonRow Row)> Beside(IReadOnlyList<BenchRow> ours,
        IReadOnlyList<PeerRow> node, IReadOnlyList<PeerRow> bench)
    {
        int Order(PeerComparisonRow r) =>
            ours.Select((o, i) => (o, i)).First(x => x.o.Scenario == r.Scenario && x.o.Batch == r.Batch).i;
        return Of(ours, node).Select(r => (NodePeer, r)).Concat(Of(ours, bench).Select(r => (BenchPeer, r)))
            .OrderBy(x => Order(x.Item2)).ToList();
    }
}
