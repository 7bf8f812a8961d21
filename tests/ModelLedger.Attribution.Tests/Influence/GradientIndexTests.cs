using ModelLedger.Testing;

namespace ModelLedger.Attribution.Influence;

[Collection(Collections.TorchRng)]
public sealed class GradientIndexTests(TrainedAdapter run) : IClassFixture<TrainedAdapter>
{
    [Fact]
    public void Query_IdenticalToATrainingExample_ScoresItsSelfInfluence_AndRanksItFirst()
    {
        var summary = GradientIndexBuilder.Run(run.Request("self"), _ => { }, CancellationToken.None);
        using var attributor = InfluenceAttributor.Open(summary.Directory);
        const int target = 5;
        var (prompt, response) = run.Records[target];
        var query = attributor.Encode(prompt, response);
        // The query's gradient is example 5's own, so its dot score is Σ_c η_c ‖S g_c‖², read from the stored rows,
        // and its cosine score Σ_c η_c ‖S g_c‖ is the largest any example can reach (Cauchy–Schwarz).
        var index = attributor.Index;
        double self = index.Manifest.Checkpoints.Select((c, i) => c.Weight * index.Sketches[i][target].square().sum().item<float>()).Sum();
        var dot = attributor.Scores(query, InfluenceScore.Dot);
        // The scan stores rows in half precision: each term is off by at most 2⁻¹¹ of itself, and every term of a
        // self score is positive, so the sum is within 2⁻¹¹ ≈ 4.9e-4 of itself (1e-3 leaves room for float32 sums).
        Assert.Equal(self, dot[target], self * 1e-3);
        var cosine = attributor.Scores(query, InfluenceScore.Cosine);
        Assert.Equal(target, Array.IndexOf(cosine, cosine.Max()));
        var result = attributor.Attribute(prompt, response, top: 3, InfluenceScore.Cosine);
        Assert.Equal("tracin-cp-cosine", result.Method);
        Assert.Equal(3, result.Examples.Count);
        Assert.Equal($"item-{target}", result.Examples[0].Item);
        Assert.Equal(TrainedAdapter.ContributorOf(target), result.Examples[0].Contributor);
        Assert.Equal(1.0, result.Contributors.Sum(c => c.Share), 9);
    }

    [Fact]
    public void Index_TakesOwnersFromProvenance_AndCheckpointsFromTheRun()
    {
        var summary = GradientIndexBuilder.Run(run.Request("owners", dims: 64), _ => { }, CancellationToken.None);
        using var index = GradientIndex.Load(summary.Directory, checkHashes: true);
        Assert.Equal(12, index.Owners.Count);
        for (int i = 0; i < 12; i++) Assert.Equal(new RecordOwner($"item-{i}", TrainedAdapter.ContributorOf(i)), index.Owners[i]);
        // save_steps 3 over 6 steps: checkpoint-3 and checkpoint-6 (the adapter is the same weights as the last one).
        Assert.Equal(["checkpoint-3", "checkpoint-6"], index.Manifest.Checkpoints.Select(c => c.Source));
        Assert.Equal(TrainedAdapter.Root, index.Manifest.SnapshotRoot);
        Assert.Equal(4L * 64 * 2, index.BytesPerExample);
        Assert.Throws<UserError>(() => GradientIndexBuilder.Run(run.Request("owners", dims: 64), _ => { }, CancellationToken.None));
    }

    [Fact]
    public void Load_WithHashes_RejectsATamperedSketchFile()
    {
        var summary = GradientIndexBuilder.Run(run.Request("tamper", dims: 32), _ => { }, CancellationToken.None);
        var path = Path.Combine(summary.Directory, "sketches.safetensors");
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 1;
        File.WriteAllBytes(path, bytes);
        using (GradientIndex.Load(summary.Directory)) { }   // shapes still fine: only the hash can tell
        var error = Assert.Throws<UserError>(() => GradientIndex.Load(summary.Directory, checkHashes: true));
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
    }
}
