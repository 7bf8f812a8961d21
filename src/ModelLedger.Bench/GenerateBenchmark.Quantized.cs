using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Quantization;

namespace ModelLedger.Bench;

public static partial class GenerateBenchmark
{
    /// <summary>Decode rows with Q8_0 weights (the C# step reading int8 copies; llama.cpp's Q8_0 peer row compares
    /// with these), on the 16-bit KV cache of the other rows. Weights GB/s counts the bytes the step reads: 1 code
    /// byte and 4/32 scale bytes per weight, against fp32's 4 (<paramref name="fp32Bytes"/>).</summary>
    private static IEnumerable<BenchRow> QuantizedDecodeRows(TextGenerator generator, int[] batches, Func<int[]> prompt,
        GenerationOptions options, long fp32Bytes, Func<string, int, int, double, BenchRow> row, Action<string>? log)
    {
        var q8 = options with { Weights = WeightQuantization.Q8_0 };
        generator.Generate([prompt()], q8 with { MaxNewTokens = 40 });   // tier-up of the int8 kernels
        double bytes = fp32Bytes / 4.0 * (1 + 4.0 / Q8_0.BlockSize);
        foreach (int b in batches.Distinct())
        {
            var prompts = Enumerable.Range(0, b).Select(_ => prompt()).ToArray();
            double seconds = Best(2, () => DecodeSeconds(generator, prompts, q8));
            var name = $"decode, {DTypeName(options.KvCacheDType!.Value)} KV, q8_0 weights, C# step";
            var result = row(name, b, b * (options.MaxNewTokens - 1), seconds) with
                { WeightGBps = bytes * (options.MaxNewTokens - 1) / seconds / 1e9 };
            log?.Invoke($"{name} batch {b}: {result.TokensPerSecond:F1} tokens/s");
            yield return result;
        }
    }
}
