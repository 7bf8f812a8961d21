using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Adapters;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Training;

[Collection(Collections.TorchRng)]
public sealed class GradientCheckpointTests
{
    [Fact]
    public void Checkpointing_GivesTheSameGradients()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        LoraInjector.Attach(model.Network, "a", new LoraSettings(4, 8, 0.1, LoraSettings.AllTargets));
        var lora = LoraInjector.Find(model.Network).Select(l => l.Layer.Adapters["a"]).ToList();
        using (no_grad()) foreach (var p in lora) p.B.weight!.normal_(0, 0.1);
        foreach (var p in model.Network.parameters()) p.requires_grad = false;
        foreach (var p in lora) { p.A.weight!.requires_grad = true; p.B.weight!.requires_grad = true; }
        model.Network.train();
        var ids = tensor(new long[] { 1, 147, 201, 282, 215, 286, 598, 1662 }, [2, 4]);

        List<Tensor> Gradients(bool checkpointing)
        {
            model.Network.GradientCheckpointing = checkpointing;
            foreach (var p in lora) { p.A.weight!.grad = null; p.B.weight!.grad = null; }
            manual_seed(5);   // same dropout masks in both runs
            model.Network.TrainingLogits(ids, null, null).pow(2).mean().backward();
            return lora.SelectMany(p => new[] { p.A.weight!.grad!.clone(), p.B.weight!.grad!.clone() }).ToList();
        }

        var plain = Gradients(false);
        var recomputed = Gradients(true);
        Assert.All(plain.Zip(recomputed), pair => Assert.True(pair.First.allclose(pair.Second, rtol: 1e-5, atol: 1e-7)));
        Assert.Contains(plain, g => g.abs().sum().item<float>() > 0);
    }

    /// <summary>P-Tuning v2 with checkpointing: every layer reads its slice of one prefix graph. Through a closure,
    /// the second layer's recompute found that graph freed ("backward through the graph a second time").</summary>
    [Fact]
    public void Checkpointing_GivesTheSameGradients_ForADeepPrompt()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var scope = NewDisposeScope();
        var config = model.Network.Config;
        var encoder = new PrefixEncoder(config, 4, projection: true, CPU, ScalarType.Float32);
        foreach (var p in model.Network.parameters()) p.requires_grad = false;
        model.Network.Prefix = encoder.KeyValues;
        model.Network.train();
        var ids = tensor(new long[] { 1, 147, 201, 282, 215, 286, 598, 1662 }, [2, 4]);

        List<Tensor> Gradients(bool checkpointing)
        {
            model.Network.GradientCheckpointing = checkpointing;
            foreach (var p in encoder.parameters()) p.grad = null;
            model.Network.TrainingLogits(ids, null, null).pow(2).mean().backward();
            return encoder.parameters().Select(p => p.grad!.clone()).ToList();
        }

        var plain = Gradients(false);
        var recomputed = Gradients(true);
        Assert.All(plain.Zip(recomputed), pair => Assert.True(pair.First.allclose(pair.Second, rtol: 1e-5, atol: 1e-7)));
        Assert.All(plain, g => Assert.True(g.abs().sum().item<float>() > 0));
    }
}
