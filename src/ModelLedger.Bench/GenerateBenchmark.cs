using ModelLedger.Engine.Kernels;
using System.Diagnostics;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using static TorchSharp.torch;

namespace ModelLedger.Bench;

/// <summary>One measured scenario: tokens/s and how that compares with the machine's matmul peak.</summary>
/// <param name="WeightGBps">Decode rows: bytes of weights read per step × steps/s (the honest figure for a
/// memory-bound decode); null for the others.</param>
public sealed record BenchRow(string Scenario, int Batch, int Tokens, double TokensPerSecond, double ModelGflops,
    double OfPeak, double? WeightGBps = null);

/// <summary>
/// Prefill and decode throughput, with and without the KV cache, measured in one process after a warm-up, next to the
/// measured fp32 matmul peak so the figures read as ratios. Model FLOPs per token ≈ 2 × parameters (+ attention).
/// </summary>
public static partial class GenerateBenchmark
{
    /// <param name="kvCache">The 16-bit KV cache dtype whose decode rows run next to the fp32 cache's.</param>
    public static (double PeakGflops, double ReadGBps, IReadOnlyList<BenchRow> Rows) Run(PretrainedModel model,
        int promptLength, int newTokens, int batch, ScalarType kvCache, Action<string>? log = null)
    {
        var device = model.Network.Device;
        double peak = MatmulPeak.Measure(device);
        log?.Invoke($"fp32 matmul peak: {peak:F1} GFLOP/s");
        double read = ReadBandwidth.Measure(ReadBandwidth.Threads);   // the ceiling of the weights GB/s column
        log?.Invoke($"memory read: {read:F1} GB/s on {ReadBandwidth.Threads} threads");
        double flopsPerToken = 2.0 * model.Network.ParameterCount();
        var generator = new TextGenerator(model);
        var rng = new Random(1);
        int[] Prompt() => Enumerable.Range(0, promptLength).Select(_ => rng.Next(3, model.Config.VocabSize)).ToArray();
        var options = new GenerationOptions { MaxNewTokens = newTokens, StopTokenIds = [-1] };   // never stop early
        BenchRow Row(string name, int b, int tokens, double seconds) =>
            new(name, b, tokens, tokens / seconds, flopsPerToken * tokens / seconds / 1e9, flopsPerToken * tokens / seconds / 1e9 / peak);

        var warmUp = options with { MaxNewTokens = 40 };   // the JIT's tier-up of both paths
        generator.Generate([Prompt()], warmUp);
        WithKernels(false, () => { generator.Generate([Prompt()], warmUp); return 0; });
        var rows = new List<BenchRow>();
        var prompt = Prompt();
        rows.Add(Row("prefill", 1, promptLength, Best(3, () => Prefill(model, prompt))));
        log?.Invoke($"prefill: {rows[^1].TokensPerSecond:F1} tokens/s");
        // Each decode row with the C# decode step and with libtorch alone, alternating, so their ratio is of one run.
        var weightBytes = model.Network.DecodeBytesPerStep();
        foreach (int b in new[] { 1, batch }.Distinct())
            foreach (var kv in new[] { ScalarType.Float32, kvCache }.Distinct())
            {
                var prompts = Enumerable.Range(0, b).Select(_ => Prompt()).ToArray();
                var decode = options with { KvCacheDType = kv };
                var seconds = new[] { double.MaxValue, double.MaxValue };
                for (int round = 0; round < 2; round++)
                    for (int engine = 0; engine < 2; engine++)
                        seconds[engine] = Math.Min(seconds[engine],
                            WithKernels(engine == 0, () => DecodeSeconds(generator, prompts, decode)));
                for (int engine = 0; engine < 2; engine++)
                {
                    var name = $"decode, {DTypeName(kv)} KV, {(engine == 0 ? "C# step" : "libtorch")}";
                    int tokens = b * (newTokens - 1);
                    double gbps = weightBytes * (newTokens - 1) / seconds[engine] / 1e9;
                    rows.Add(Row(name, b, tokens, seconds[engine]) with { WeightGBps = gbps });
                    log?.Invoke($"{name} batch {b}: {rows[^1].TokensPerSecond:F1} tokens/s");
                }
            }
        rows.AddRange(QuantizedDecodeRows(generator, [1, batch], Prompt, options with { KvCacheDType = kvCache },
            weightBytes, Row, log));
        var uncached = new[] { Prompt() };
        var recompute = options with { UseCache = false };
        double uncachedSeconds = Best(2, () => DecodeSeconds(generator, uncached, recompute));
        rows.Add(Row("decode, no cache", 1, newTokens - 1, uncachedSeconds));
        return (peak, read, rows);
    }

    private static double Prefill(PretrainedModel model, int[] prompt)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var ids = tensor(prompt.Select(i => (long)i).ToArray(), [1, prompt.Length], device: model.Network.Device);
        var watch = Stopwatch.StartNew();
        var logits = model.Network.Forward(ids, null, null, 0, lastOnly: true);
        _ = logits[0, 0, 0].to(ScalarType.Float32).item<float>();
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>Seconds from the first generated token to the last: decode only, prefill excluded.</summary>
    private static double DecodeSeconds(TextGenerator generator, int[][] prompts, GenerationOptions options)
    {
        var watch = new Stopwatch();
        generator.Generate(prompts, options, e => { if (!watch.IsRunning) watch.Start(); });
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>Runs <paramref name="measure"/> with the C# decode kernels on, or with libtorch alone.</summary>
    private static double WithKernels(bool on, Func<double> measure)
    {
        (DecodeSession.Enabled, DecodeLinear.Enabled) = (on, on);
        try
        {
            return measure();
        }
        finally
        {
            (DecodeSession.Enabled, DecodeLinear.Enabled) = (true, true);
        }
    }

    private static string DTypeName(ScalarType type) =>
        type switch { ScalarType.Float16 => "f16", ScalarType.BFloat16 => "bf16", _ => "f32" };

    private static double Best(int runs, Func<double> measure) => Enumerable.Range(0, runs).Min(_ => measure());
}
