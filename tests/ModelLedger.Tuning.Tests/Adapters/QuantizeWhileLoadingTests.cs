using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Training;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>QLoRA quantizes each projection as it is read (<see cref="TunableModel.ProjectionLoaderFor"/>) instead
/// of loading the full-precision model and quantizing it afterwards: the stored codes must not change.</summary>
public sealed class QuantizeWhileLoadingTests
{
    [Theory]
    [InlineData(4, QuantizationType.Nf4, true)]
    [InlineData(4, QuantizationType.Nf4, false)]
    [InlineData(4, QuantizationType.Fp4, true)]
    [InlineData(8, QuantizationType.Nf4, false)]
    public void LoadQuantizing_StoresWhatQuantizingTheLoadedModelStores(int bits, QuantizationType type, bool dq)
    {
        using var whole = PretrainedModel.Load(TestPaths.Stories260K);
        TunableModel.Quantize(whole, bits, type, dq);
        using var layerwise = PretrainedModel.Load(TestPaths.Stories260K,
            projections: TunableModel.Quantizer(bits, type, dq));
        using var scope = NewDisposeScope();
        for (int layer = 0; layer < whole.Network.LayerCount; layer++)
        {
            foreach (var name in LoraSettings.AllTargets)
            {
                var expected = (IFrozenLinear)whole.Network.Projection(layer, name);
                var actual = (IFrozenLinear)layerwise.Network.Projection(layer, name);
                Assert.Equal(expected.GetType(), actual.GetType());
                var pairs = expected.StoredTensors.Zip(actual.StoredTensors).ToList();
                Assert.Equal(expected.StoredTensors.Count(), pairs.Count);
                foreach (var (e, a) in pairs) Assert.True(Same(e, a), $"{layer}.{name}");
                Assert.True(Same(expected.Dequantize(), actual.Dequantize()), $"{layer}.{name} dequantized");
            }
        }
        foreach (var ((name, e), (_, a)) in whole.Network.named_parameters().Zip(layerwise.Network.named_parameters()))
            Assert.True(Same(e, a), name);
    }

    private static bool Same(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>NF4 without double quantization worked out from the file's floats in the test: absmax per block of
    /// 64, w / absmax in float32, the nearest NF4 value (first on a tie), two codes per byte, high nibble first.
    /// </summary>
    [Fact]
    public void LoadQuantizing_Nf4CodesAndAbsmax_MatchAReferenceFromTheFile()
    {
        const string path = "model.layers.2.mlp.down_proj.weight";
        using var model = PretrainedModel.Load(TestPaths.Stories260K,
            projections: TunableModel.Quantizer(4, QuantizationType.Nf4, doubleQuantization: false));
        using var scope = NewDisposeScope();
        var weights = WeightSource.Open(TestPaths.Stories260K).Read(path).data<float>().ToArray();
        var stored = ((IFrozenLinear)model.Network.Projection(2, "down_proj")).StoredTensors.ToList();
        var codes = stored[0].data<byte>().ToArray();
        var absmax = stored[1].data<float>().ToArray();
        var nf4 = FourBitCodebooks.Nf4;
        Assert.Equal(weights.Length / Nf4Linear.BlockSize, absmax.Length);
        for (int block = 0; block < absmax.Length; block++)
        {
            var values = weights.AsSpan(block * Nf4Linear.BlockSize, Nf4Linear.BlockSize);
            float max = 0;
            foreach (var v in values) max = MathF.Max(max, MathF.Abs(v));
            Assert.Equal(max, absmax[block]);
            for (int j = 0; j < values.Length; j++)
            {
                float x = values[j] / max;
                int best = 0;
                for (int k = 1; k < nf4.Length; k++) if (MathF.Abs(x - nf4[k]) < MathF.Abs(x - nf4[best])) best = k;
                int index = block * Nf4Linear.BlockSize + j;
                int code = index % 2 == 0 ? codes[index / 2] >> 4 : codes[index / 2] & 15;
                Assert.True(best == code, $"value {index}: code {code}, expected {best}");
            }
        }
    }

    [Fact]
    public void ProjectionLoaderFor_QuantizesOnlyQuantizedLora()
    {
        Assert.NotNull(TunableModel.ProjectionLoaderFor(Config(FinetuningType.Lora, 4)));
        Assert.NotNull(TunableModel.ProjectionLoaderFor(Config(FinetuningType.Lora, 8)));
        Assert.Null(TunableModel.ProjectionLoaderFor(Config(FinetuningType.Lora, null)));
        Assert.Null(TunableModel.ProjectionLoaderFor(Config(FinetuningType.Full, null)));
    }

    private static TrainConfig Config(FinetuningType type, int? bits) =>
        new() { FinetuningType = type, QuantizationBit = bits };
}
