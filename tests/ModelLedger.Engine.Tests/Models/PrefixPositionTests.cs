using ModelLedger.Engine.Generation;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

/// <summary>
/// PEFT's PREFIX_TUNING hands the prefix to the model as past key/values: the real tokens then attend to P cached
/// keys and take positions P..P+T-1. The reference here is that literal reading, run through our KV-cache path (the
/// prefix written into the cache as if P tokens had been processed, then the tokens continued from start P); the
/// Prefix hook (used in training) must give the same logits.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class PrefixPositionTests(TinyStoriesModel fixture) : IClassFixture<TinyStoriesModel>
{
    [Fact]
    public void PrefixHook_NumbersTokensAfterThePrefix_AsPastKeyValuesDo()
    {
        var model = fixture.Model;
        var network = model.Network;
        var c = model.Config;
        const int p = 5;
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        manual_seed(11);
        var prefix = Enumerable.Range(0, c.NumHiddenLayers)
            .Select(_ => (Keys: randn(1, c.NumKeyValueHeads, p, c.HeadDim), Values: randn(1, c.NumKeyValueHeads, p, c.HeadDim)))
            .ToList();
        long[] ids = [1, 147, 201, 33, 90, 12, 300];
        var input = tensor(ids, [1, ids.Length]);

        Tensor hooked;
        network.Prefix = _ => prefix;
        try { hooked = network.TrainingLogits(input, null, null).to(ScalarType.Float32); }
        finally { network.Prefix = null; }

        using var cache = new KvCache(c.NumHiddenLayers, 1, c.NumKeyValueHeads, c.HeadDim, p + ids.Length,
            network.DType, network.Device);
        for (int layer = 0; layer < c.NumHiddenLayers; layer++) cache.Write(layer, prefix[layer].Keys, prefix[layer].Values, 0);
        var reference = network.Forward(input, null, cache, p, lastOnly: false).to(ScalarType.Float32);

        Assert.True(hooked.allclose(reference, rtol: 0, atol: 1e-4),
            $"max diff {(hooked - reference).abs().max().item<float>()}");
        // and the prefix matters: without it the logits differ
        var plain = network.TrainingLogits(input, null, null).to(ScalarType.Float32);
        Assert.False(plain.allclose(reference, rtol: 0, atol: 1e-2));
    }
}
