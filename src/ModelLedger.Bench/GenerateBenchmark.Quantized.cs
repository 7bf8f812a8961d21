using System.Diagnostics;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Quantization;

namespace ModelLedger.Bench;

public static partial class GenerateBenchmark
{
    /// <summary>Decode rows with quantized weights on the 16-bit KV cache of the other rows: Q8_0 (int8 copies, the
    /// activations rounded to Q8_0 blocks per projection, int8 dot products: llama.cpp's Q8_0 peer row compares with
    /// these) and NF4 (4-bit codes, fp32 activations). Weights GB/s counts the bytes the step reads per weight: Q8_0 1
    /// code byte + 4/32 scale bytes, NF4 1/2 + 4/64, against fp32's 4 (<paramref name="fp32Bytes"/>). Logs the first
    /// call's cost (quantizing the weights) against a second call's (the kept copy, checked by hash).</summary>
    private static IEnumerable<BenchRow> QuantizedDecodeRows(TextGenerator generator, int[] batches, Func<int[]> prompt,
        GenerationOptions options, long fp32Bytes, Func<string, int, int, double, BenchRow> row, Action<string>? log)
    {
        foreach (var (type, bytesPerWeight, what) in new[]
        {
            (WeightQuantization.Q8_0, 1 + 4.0 / Q8_0.BlockSize, "q8_0 weights, int8 activations"),
            (WeightQuantization.Nf4, 0.5 + 4.0 / Nf4.BlockSize, "nf4 weights"),
        })
        {
            var quantized = options with { Weights = type };
            var first = Stopwatch.StartNew();
            generator.Generate([prompt()], quantized with { MaxNewTokens = 2 });   // makes the copies
            double making = first.Elapsed.TotalSeconds;
            var second = Stopwatch.StartNew();
            generator.Generate([prompt()], quantized with { MaxNewTokens = 2 });   // reuses them
            log?.Invoke($"{type.Name()} copies: first call {making:F2} s (quantizing), next call "
                + $"{second.Elapsed.TotalSeconds:F2} s (kept copies, hash check)");
            generator.Generate([prompt()], quantized with { MaxNewTokens = 40 });   // tier-up of the kernels
            double bytes = fp32Bytes / 4.0 * bytesPerWeight;
            foreach (int b in batches.Distinct())
            {
                var prompts = Enumerable.Range(0, b).Select(_ => prompt()).ToArray();
                double seconds = Best(2, () => DecodeSeconds(generator, prompts, quantized));
                var name = $"decode, {DTypeName(options.KvCacheDType!.Value)} KV, {what}, C# step";
                var result = row(name, b, b * (options.MaxNewTokens - 1), seconds) with
                    { WeightGBps = bytes * (options.MaxNewTokens - 1) / seconds / 1e9 };
                log?.Invoke($"{name} batch {b}: {result.TokensPerSecond:F1} tokens/s");
                yield return result;
            }
        }
    }

    /// <summary>Each decode row's tokens/s over the fp32-weights C# step's with the same KV cache and batch, measured
    /// in this run (null for rows without one).</summary>
    public static double? VersusFp32Step(BenchRow r, IReadOnlyList<BenchRow> rows)
    {
        if (!r.Scenario.StartsWith("decode, ", StringComparison.Ordinal)) return null;
        var kv = r.Scenario.Split(", ")[1];
        var fp32 = rows.FirstOrDefault(o => o.Batch == r.Batch && o.Scenario == $"decode, {kv}, C# step");
        return fp32 is null ? null : r.TokensPerSecond / fp32.TokensPerSecond;
    }
}
