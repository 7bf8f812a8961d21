using System.Diagnostics;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Testing;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Training;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>QLoRA training, attribution of a QLoRA adapter and the server quantize the base while other threads
/// allocate: the quantizers' detached weights and conversions must stay referenced while libtorch reads them
/// (docs/architecture.md). This quantizes fresh models repeatedly under a collector that never stops and compares
/// every dequantized projection with the ones quantized before it started.</summary>
public sealed class QuantizeUnderGarbageCollectionTests
{
    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public async Task Quantize_UnderConstantGarbageCollection_StoresTheSameCodes(int bits)
    {
        var expected = QuantizedWeights(bits);
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(4) || runs < 3)
            {
                runs++;
                Assert.Equal(expected, QuantizedWeights(bits));
            }
        }
    }

    /// <summary>Every projection's dequantized weight, as one array per projection.</summary>
    private static float[][] QuantizedWeights(int bits)
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        TunableModel.Quantize(model, bits, QuantizationType.Nf4, doubleQuantization: true);
        using var scope = NewDisposeScope();   // the check's own temporaries, or the check itself would race
        var weights = new List<float[]>();
        for (int layer = 0; layer < model.Network.LayerCount; layer++)
            foreach (var name in LlamaForCausalLM.ProjectionNames)
                weights.Add(((IFrozenLinear)model.Network.Projection(layer, name)).Dequantize()
                    .to(ScalarType.Float32).data<float>().ToArray());
        return [.. weights];
    }
}
