using ModelLedger.Engine.Kernels;
using System.Diagnostics;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using static TorchSharp.torch;

namespace ModelLedger.Bench;

/// <summary>One measured scenario: tokens/s and how that compares with the machine's matmul peak.</summary>
public sealed record BenchRow(string Scenario, int Batch, int Tokens, double TokensPerSecond, double ModelGflops, double OfPeak);

/// <summary>
/// Prefill and decode throughput, with and without the KV cache, measured in one process after a warm-up, next to the
/// measured fp32 matmul peak so the figures read as ratios. Model FLOPs per token ≈ 2 × parameters (+ attention).
/// </summary>
public static class GenerateBenchmark
{
    public static (double PeakGflops, IReadOnlyList<BenchRow> Rows) Run(PretrainedModel model, int promptLength, int newTokens, int batch, Action<string>? log = null)
    {
        var device = model.Network.Device;
        double peak = MatmulPeak.Measure(device);
        log?.Invoke($"fp32 matmul peak: {peak:F1} GFLOP/s");
        double flopsPerToken = 2.0 * model.Network.ParameterCount();
        var generator = new TextGenerator(model);
        var rng = new Random(1);
        int[] Prompt() => Enumerable.Range(0, promptLength).Select(_ => rng.Next(3, model.Config.VocabSize)).ToArray();
        var options = new GenerationOptions { MaxNewTokens = newTokens, StopTokenIds = [-1] };   // never stop early
        BenchRow Row(string name, int b, int tokens, double seconds) =>
            new(name, b, tokens, tokens / seconds, flopsPerToken * tokens / seconds / 1e9, flopsPerToken * tokens / seconds / 1e9 / peak);

        generator.Generate([Prompt()], options with { MaxNewTokens = 4 });   // warm-up
        var rows = new List<BenchRow>();
        var prompt = Prompt();
        rows.Add(Row("prefill", 1, promptLength, Best(3, () => Prefill(model, prompt))));
        log?.Invoke($"prefill: {rows[^1].TokensPerSecond:F1} tokens/s");
        // The decode rows twice, with our decode kernel and with libtorch's matmul, so the ratio is of one run.
        var scenarios = new[]
        {
            ("decode, KV cache", 1, true, true), ("decode, KV cache, libtorch matmul", 1, true, false),
            ("decode, KV cache", batch, true, true), ("decode, KV cache, libtorch matmul", batch, true, false),
            ("decode, no cache", 1, false, true),
        };
        foreach (var (name, b, cache, kernel) in scenarios)
        {
            var prompts = Enumerable.Range(0, b).Select(_ => Prompt()).ToArray();
            DecodeLinear.Enabled = kernel;
            try
            {
                double seconds = Best(2, () => DecodeSeconds(generator, prompts, options with { UseCache = cache }));
                rows.Add(Row(name, b, b * (newTokens - 1), seconds));
            }
            finally
            {
                DecodeLinear.Enabled = true;
            }
            log?.Invoke($"{name} batch {b}: {rows[^1].TokensPerSecond:F1} tokens/s");
        }
        return (peak, rows);
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

    private static double Best(int runs, Func<double> measure) => Enumerable.Range(0, runs).Min(_ => measure());
}
