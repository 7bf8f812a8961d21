using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

public sealed record IndexVerification(bool Ok, string Message);

/// <summary>
/// Re-derives an index's stored facts: the files are the ones the manifest hashes, the owners are the dataset's
/// (provenance or contributor column) in order, the Fisher inverses follow from the sketches, and a seeded sample of
/// rows recomputed from the checkpoints matches what is stored (relative error ≤ 1e-3; float sums may reorder).
/// </summary>
public static class GradientIndexVerifier
{
    public static IndexVerification Verify(string indexDir, int samples, string device, CancellationToken cancellation)
    {
        if (samples < 1) throw new UserError($"must be ≥ 1 (got {samples})", field: "--samples");
        using var index = GradientIndex.Load(indexDir, checkHashes: true);
        var m = index.Manifest;
        using var model = PretrainedModel.Load(m.BaseModel, TorchRuntime.ParseDevice(device));
        var dataset = AttributionDataset.Load(m.DatasetDir, m.Dataset, model.Tokenizer, ChatTemplate.Named(m.Template), m.CutoffLen,
            maxSamples: m.MaxSamples);
        if (dataset.Examples.Count != m.Examples) return new(false, $"the dataset now has {dataset.Examples.Count} usable examples, the index {m.Examples}");
        for (int i = 0; i < m.Examples; i++)
            if (dataset.Examples[i].Item != index.Owners[i].Item || dataset.Examples[i].Contributor != index.Owners[i].Contributor)
                return new(false, $"row {i}: the dataset says {dataset.Examples[i].Item}/{dataset.Examples[i].Contributor}, the index {index.Owners[i].Item}/{index.Owners[i].Contributor}");
        using var gradients = GradientModel.Attach(model, m.Adapter, m.QuantizationBit);
        var rng = new Random(m.Seed);
        for (int c = 0; c < m.Checkpoints.Count; c++)
        {
            var checkpoint = m.Checkpoints[c];
            using (var expected = GradientIndexBuilder.DampedFisherInverse(index.Sketches[c], m.DampingRatio))
                if (!expected.allclose(index.FisherInverses[c], rtol: 1e-3, atol: 1e-6))
                    return new(false, $"{checkpoint.Source}: the stored Fisher inverse does not follow from the stored sketches");
            gradients.Use(checkpoint.Source == "adapter" ? null : Path.Combine(m.Adapter, checkpoint.Source));
            if (gradients.ParameterCount != checkpoint.Parameters)
                return new(false, $"{checkpoint.Source}: {gradients.ParameterCount} trainable values, the index says {checkpoint.Parameters}");
            using var projection = new CountSketch(checkpoint.Parameters, m.Dims, m.Seed, model.Network.Device);
            foreach (var row in Enumerable.Range(0, samples).Select(_ => rng.Next(m.Examples)).Distinct())
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var recomputed = projection.Project(gradients.Gradient(dataset.Examples[row].Sample)).cpu();
                var stored = index.Sketches[c][row];
                double error = recomputed.Minus(stored).norm().item<float>() / Math.Max(stored.norm().item<float>(), 1e-30);
                if (error > 1e-3) return new(false, $"{checkpoint.Source}: row {row} ({index.Owners[row].Item}) recomputes with relative error {error:G3}");
            }
        }
        return new(true, $"ok: {m.Examples} examples, {m.Checkpoints.Count} checkpoints, hashes match, owners match, " +
            $"{Math.Min(samples, m.Examples)} sampled rows per checkpoint recompute (index {index.Hash})");
    }
}
