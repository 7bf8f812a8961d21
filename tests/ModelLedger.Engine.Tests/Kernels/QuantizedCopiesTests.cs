using ModelLedger.Engine.Models;
using ModelLedger.Engine.Quantization;
using ModelLedger.Testing;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// The Q8_0 copies kept with the model: a second session start quantizes nothing and hands out the same copies; a
/// weight written in place (as an optimizer step or a merge writes it) is quantized again, alone, and the new copy
/// holds the new values (worked by hand); another load of the model is another cache.
/// </summary>
public sealed unsafe class QuantizedCopiesTests
{
    private static Q8Weights?[] Copies(PretrainedModel model)
    {
        using var _ = inference_mode();
        var w = DecodeWeights.Gather(model.Network, 8, WeightQuantization.Q8_0)!;
        return w.Layers.SelectMany(l => new[] { l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down }).Append(w.LmHead)
            .Select(p => p.Q8).ToArray();
    }

    [Fact]
    public void SecondSession_ReusesCopies_AndAChangedWeightIsQuantizedAgain()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var cache = QuantizedCopies.For(model.Network);
        var first = Copies(model);
        int linears = model.Config.NumHiddenLayers * 7 + 1;
        Assert.Equal(linears, cache.Quantizations);
        var second = Copies(model);
        Assert.Equal(linears, cache.Quantizations);   // nothing quantized again
        Assert.All(first.Zip(second), pair => Assert.Same(pair.First, pair.Second));

        // Block 0 of layer 1's up_proj gets a value far above its amax: code 127, d = 1000 / 127 in f16.
        var up = ((Linear)model.Network.Projection(1, "up_proj")).weight!;
        using (no_grad()) up[0, 0] = tensor(1000f);
        var third = Copies(model);
        Assert.Equal(linears + 1, cache.Quantizations);
        int changed = 7 + 5;   // layer 1, the sixth projection
        for (int i = 0; i < third.Length; i++)
            if (i == changed) Assert.NotSame(first[i], third[i]);
            else Assert.Same(first[i], third[i]);
        Assert.Equal(127, third[changed]!.Codes[0]);
        Assert.Equal((float)(Half)(1000f / 127f), third[changed]!.Scales[0]);

        using var again = PretrainedModel.Load(TestPaths.TinyStories);
        Copies(again);
        Assert.Equal(linears, QuantizedCopies.For(again.Network).Quantizations);
    }

    [Fact]
    public void Hash_SeesEveryValue()
    {
        var values = new float[3 * (1 << 20) + 37];   // several parallel chunks and a tail
        new Random(1).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        fixed (float* p = values)
        {
            ulong h = QuantizedCopies.Hash(p, values.Length);
            Assert.Equal(h, QuantizedCopies.Hash(p, values.Length));
            foreach (int at in new[] { 0, 31, 1 << 20, values.Length - 1 })
            {
                float old = values[at];
                values[at] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(old) ^ 1);   // one bit
                Assert.NotEqual(h, QuantizedCopies.Hash(p, values.Length));
                values[at] = old;
            }
            Assert.Equal(h, QuantizedCopies.Hash(p, values.Length));
        }
    }
}
