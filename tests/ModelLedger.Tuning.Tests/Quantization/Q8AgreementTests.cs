using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Quantization;
using ModelLedger.Testing;
using ModelLedger.Tuning.Export;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Quantization;

/// <summary>The Q8_0 the GGUF export writes and the one the decode step reads are the same bytes (one quantizer);
/// fake quantization puts exactly those values into the model and restores the weights on dispose.</summary>
public sealed unsafe class Q8AgreementTests
{
    [Fact]
    public void GgufExport_EqualsDecodeCopy_ByteForByte()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var weight = model.Network.Projection(1, "down_proj").parameters().Single();   // [128, 384]
        var gguf = GgufExport.Encode(weight, GgmlType.Q8_0);
        var values = weight.data<float>().ToArray();
        fixed (float* w = values)
        {
            var copy = Q8Weights.Quantize(w, (int)weight.shape[0], (int)weight.shape[1])!;
            var fromDecode = new byte[gguf.Length];
            for (int b = 0; b < values.Length / 32; b++)
            {
                BitConverter.TryWriteBytes(fromDecode.AsSpan(b * 34, 2), (Half)copy.Scales[b]);
                for (int j = 0; j < 32; j++) fromDecode[b * 34 + 2 + j] = (byte)copy.Codes[b * 32 + j];
            }
            Assert.Equal(gguf, fromDecode);
            GC.KeepAlive(copy);
        }
    }

    [Fact]
    public void FakeQuantization_WritesQ8Values_AndRestores()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var weight = model.Network.Projection(0, "q_proj").parameters().Single();
        var original = weight.data<float>().ToArray();
        var expected = new float[original.Length];
        Q8_0.Dequantize(original, expected);
        using (FakeQuantization.Apply(model, WeightQuantization.Q8_0))
            Assert.Equal(expected, weight.data<float>().ToArray());
        Assert.Equal(original, weight.data<float>().ToArray());
        using (FakeQuantization.Apply(model, WeightQuantization.Nf4))
        {
            var nf4 = weight.data<float>().ToArray();
            // NF4: every 64-block holds at most 16 distinct values, its absmax kept exactly (code ±1 · absmax).
            for (int b = 0; b < nf4.Length / 64; b++)
            {
                Assert.InRange(nf4.Skip(b * 64).Take(64).Distinct().Count(), 1, 16);
                Assert.Equal(original.Skip(b * 64).Take(64).Max(MathF.Abs), nf4.Skip(b * 64).Take(64).Max(MathF.Abs));
            }
        }
        Assert.Equal(original, weight.data<float>().ToArray());
    }
}
