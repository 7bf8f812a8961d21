using System.Diagnostics;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;
using ModelLedger.Tuning.Serving;

namespace ModelLedger.Bench;

/// <summary>Sizes of a serving benchmark: the same traffic (requests, concurrency, prompt and output lengths) runs
/// once on the base alone ("merged": the cost of a model with one adapter merged into its weights) and once per
/// adapter count, requests spread round-robin over that many random LoRA adapters of rank <see cref="Rank"/>.</summary>
public sealed record ServeBenchOptions
{
    public int Requests { get; init; } = 64;
    public int Concurrency { get; init; } = 16;
    public int PromptTokens { get; init; } = 32;
    public int NewTokens { get; init; } = 32;
    public IReadOnlyList<int> AdapterCounts { get; init; } = [1, 10, 100];
    public int Rank { get; init; } = 8;
    public int MaxBatch { get; init; } = 16;

    /// <summary>Seconds-long sizes for a smoke run.</summary>
    public static ServeBenchOptions Smoke { get; } = new()
    {
        Requests = 8, Concurrency = 4, PromptTokens = 8, NewTokens = 8, AdapterCounts = [1, 3], Rank = 4, MaxBatch = 4,
    };

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Requests < 1) problems.Add($"--requests: must be ≥ 1 (got {Requests})");
        if (Concurrency < 1) problems.Add($"--concurrency: must be ≥ 1 (got {Concurrency})");
        if (PromptTokens < 1) problems.Add($"--prompt-tokens: must be ≥ 1 (got {PromptTokens})");
        if (NewTokens < 1) problems.Add($"--new-tokens: must be ≥ 1 (got {NewTokens})");
        if (AdapterCounts.Count == 0 || AdapterCounts.Any(n => n < 1))
            problems.Add("--adapters: must list counts ≥ 1");
        if (Rank < 1) problems.Add($"--rank: must be ≥ 1 (got {Rank})");
        if (MaxBatch < 1) problems.Add($"--max-batch: must be ≥ 1 (got {MaxBatch})");
        return problems;
    }
}

/// <summary>One scenario's figures: generated tokens per second of wall time, request latency (submit → last
/// update) and time to first token, percentiles over the requests, throughput relative to the merged row, and the
/// process's CPU time per generated token (all threads: on a shared machine the figure that does not stretch with
/// the load, where wall time does).</summary>
public sealed record ServeBenchRow(string Scenario, int Adapters, int Requests, int Tokens, double Seconds,
    double TokensPerSecond, double VsMerged, double LatencyP50Ms, double LatencyP99Ms, double FirstTokenP50Ms,
    double FirstTokenP99Ms, double CpuMsPerToken = double.NaN);

/// <summary>
/// <c>mledger bench serve</c>: concurrent requests against a <see cref="BatchingCompletionService"/> in process
/// (no HTTP: the engine's cost alone), for 1, 10, 100 distinct adapters against the same traffic on the base. Each
/// scenario runs once unmeasured first (loading its adapters, warming up), then measured.
/// </summary>
public static class ServeBenchmark
{
    public static IReadOnlyList<ServeBenchRow> Run(PretrainedModel model, ServeBenchOptions options,
        string workDirectory, Action<string>? log = null)
    {
        var adapters = Enumerable.Range(0, options.AdapterCounts.Max()).Select(i =>
        {
            var dir = Path.Combine(workDirectory, $"adapter-{i:D3}");
            RandomAdapters.WriteLora(model.Config, dir, options.Rank, seed: 1000 + i);
            return dir;
        }).ToList();
        log?.Invoke($"wrote {adapters.Count} random LoRA adapters (rank {options.Rank}, every projection)");
        var service = new BatchingCompletionService(model, new BatchingOptions
        {
            MaxBatch = options.MaxBatch,
            ContextTokens = options.PromptTokens + options.NewTokens,
            AdapterMemoryBytes = long.MaxValue,   // eviction is not what this measures
        });
        try
        {
            var rng = new Random(1);
            var prompts = Enumerable.Range(0, options.Requests)
                .Select(_ => Enumerable.Range(0, options.PromptTokens)
                    .Select(_ => rng.Next(3, model.Config.VocabSize)).ToArray())
                .ToList();
            var rows = new List<ServeBenchRow>();
            // One more unmeasured pass on the base first: the merged row runs first, and with only its own warm-up
            // it ran on code the JIT was still tiering up (process CPU per token 0.95 ms merged vs 0.53 ms for one
            // adapter in the same run, 2026-12-02).
            Measure(service, prompts, _ => null, options);
            foreach (int count in new[] { 0 }.Concat(options.AdapterCounts))
            {
                string? Adapter(int request) => count == 0 ? null : adapters[request % count];
                Measure(service, prompts, Adapter, options);   // warm-up: loads the adapters
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var (seconds, tokens, latencies, firsts) = Measure(service, prompts, Adapter, options);
                cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                double merged = rows.Count > 0 ? rows[0].TokensPerSecond : tokens / seconds;
                rows.Add(new ServeBenchRow(count == 0 ? "merged (base weights)" : $"{count} LoRA adapters", count,
                    prompts.Count, tokens, seconds, tokens / seconds, tokens / seconds / merged,
                    Percentile(latencies, 0.5), Percentile(latencies, 0.99), Percentile(firsts, 0.5),
                    Percentile(firsts, 0.99), cpu.TotalMilliseconds / Math.Max(1, tokens)));
                var row = rows[^1];
                log?.Invoke($"{row.Scenario}: {row.TokensPerSecond:F1} tokens/s ({row.VsMerged:P0} of merged)");
            }
            return rows;
        }
        finally
        {
            service.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static (double Seconds, int Tokens, List<double> LatencyMs, List<double> FirstTokenMs) Measure(
        BatchingCompletionService service, IReadOnlyList<int[]> prompts, Func<int, string?> adapter,
        ServeBenchOptions o)
    {
        var generation = new GenerationOptions { MaxNewTokens = o.NewTokens, StopTokenIds = [-1] };   // never stops
        using var gate = new SemaphoreSlim(o.Concurrency);
        var latencies = new double[prompts.Count];
        var firsts = new double[prompts.Count];
        var tokens = new int[prompts.Count];
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, prompts.Count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var started = clock.Elapsed.TotalMilliseconds;
                var request = new CompletionRequest(prompts[i], adapter(i), generation);
                await foreach (var update in service.CompleteAsync(request))
                {
                    if (update is CompletionDelta && firsts[i] == 0)
                        firsts[i] = clock.Elapsed.TotalMilliseconds - started;
                    if (update is CompletionFinished f) tokens[i] = f.CompletionTokens;
                }
                latencies[i] = clock.Elapsed.TotalMilliseconds - started;
            }
            finally { gate.Release(); }
        }).ToArray();
        Task.WaitAll(tasks);
        return (clock.Elapsed.TotalSeconds, tokens.Sum(), [.. latencies], [.. firsts]);
    }

    /// <summary>Nearest-rank percentile.</summary>
    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    public static string Markdown(IReadOnlyList<ServeBenchRow> rows)
    {
        var lines = new List<string>
        {
            "| scenario | requests | tokens/s | vs merged | latency p50 / p99 ms | first token p50 / p99 ms | " +
                "process CPU ms / token |",
            "|---|---|---|---|---|---|---|",
        };
        lines.AddRange(rows.Select(r =>
            FormattableString.Invariant($"| {r.Scenario} | {r.Requests} | {r.TokensPerSecond:F1} | {r.VsMerged:F2}x | ") +
            FormattableString.Invariant($"{r.LatencyP50Ms:F0} / {r.LatencyP99Ms:F0} | ") +
            FormattableString.Invariant($"{r.FirstTokenP50Ms:F0} / {r.FirstTokenP99Ms:F0} | {r.CpuMsPerToken:F2} |")));
        return string.Join('\n', lines);
    }
}
