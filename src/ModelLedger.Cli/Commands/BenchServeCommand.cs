using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Bench;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger bench serve</c>: the continuous-batching service under concurrent requests, for 1, 10 and
/// 100 distinct LoRA adapters against the same traffic on the merged (base) weights (see
/// <see cref="ServeBenchmark"/>). <c>--smoke</c> takes seconds.</summary>
internal static class BenchServeCommand
{
    public static Command Create()
    {
        var d = new ServeBenchOptions();
        var model = new ModelOptions();
        Option<int?> Int(string name, string description) => new(name) { Description = description };
        var requests = Int("--requests", $"Requests per scenario (default {d.Requests})");
        var concurrency = Int("--concurrency", $"Requests in flight (default {d.Concurrency})");
        var prompt = Int("--prompt-tokens", $"Prompt tokens per request (default {d.PromptTokens})");
        var newTokens = Int("--new-tokens", $"Generated tokens per request (default {d.NewTokens})");
        var rank = Int("--rank", $"LoRA rank of the random adapters (default {d.Rank})");
        var maxBatch = Int("--max-batch", $"Rows decoded together (default {d.MaxBatch})");
        var counts = new Option<string?>("--adapters")
        {
            Description = "Adapter counts, comma-separated (default 1,10,100)",
        };
        var smoke = new Option<bool>("--smoke") { Description = "Tiny sizes (seconds); explicit flags still apply" };
        var billingOnly = new Option<bool>("--billing-only")
        {
            Description = "Only the ledger work of billing: billed calls/s under concurrent clients (no model)",
        };
        var clients = new Option<int>("--clients")
        {
            DefaultValueFactory = _ => 64, Description = "--billing-only: concurrent clients",
        };
        var calls = new Option<int>("--calls")
        {
            // 200 calls (12,800 at 64 clients): long enough that JIT warm-up no longer dominates (20 gave 2,422/s
            // where 200 gave 3,527/s on the same idle machine).
            DefaultValueFactory = _ => 200, Description = "--billing-only: calls per client through the group commit",
        };
        var singleCalls = new Option<int?>("--single-calls")
        {
            Description = "--billing-only: calls per client one by one (three fsyncs each, so fewer; default 20, at " +
                "most --calls)",
        };
        model.Model.Required = false;   // --billing-only needs none; checked below otherwise
        var output = new Option<string?>("--out") { Description = "Also write the rows as JSON to this file" };
        var command = new Command("serve",
            "Continuous batching with many adapters vs the merged model: tokens/s, latency")
        {
            requests, concurrency, prompt, newTokens, rank, maxBatch, counts, smoke, output,
            billingOnly, clients, calls, singleCalls,
        };
        command.With(model.All);
        command.SetAction((p, _) =>
        {
            if (p.GetValue(billingOnly)) return ServeCommand.BenchBilling(p.GetValue(clients), p.GetValue(calls),
                    p.GetValue(singleCalls) ?? Math.Min(20, p.GetValue(calls)));
            if (string.IsNullOrEmpty(p.GetValue(model.Model)))
                throw new UserError("--model is required (or --billing-only)", field: "--model");
            var b = p.GetValue(smoke) ? ServeBenchOptions.Smoke : d;
            var options = b with
            {
                Requests = p.GetValue(requests) ?? b.Requests, Concurrency = p.GetValue(concurrency) ?? b.Concurrency,
                PromptTokens = p.GetValue(prompt) ?? b.PromptTokens, NewTokens = p.GetValue(newTokens) ?? b.NewTokens,
                Rank = p.GetValue(rank) ?? b.Rank, MaxBatch = p.GetValue(maxBatch) ?? b.MaxBatch,
                AdapterCounts = p.GetValue(counts) is string list ? ParseCounts(list) : b.AdapterCounts,
            };
            var problems = options.Problems();
            if (problems.Count > 0) throw new UserError(string.Join("; ", problems));
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            adapters.Dispose();   // the service loads its own adapters per request
            using var work = new TempFolder();
            var rows = ServeBenchmark.Run(loaded, options, work.Path, Console.Error.WriteLine);
            Console.WriteLine($"model: {loaded.Directory} ({loaded.Network.ParameterCount():N0} parameters, " +
                $"{loaded.Device}, {loaded.Network.DType}); {options.Requests} requests, " +
                $"{options.Concurrency} in flight, " +
                $"{options.PromptTokens} prompt + {options.NewTokens} new tokens, batch ≤ {options.MaxBatch}, " +
                $"{Environment.ProcessorCount} cores");
            Console.WriteLine(ServeBenchmark.Markdown(rows));
            if (p.GetValue(output) is string file)
                File.WriteAllText(file, JsonSerializer.Serialize(new
                {
                    machine = Environment.MachineName, cores = Environment.ProcessorCount, options, rows,
                }));
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static int[] ParseCounts(string text)
    {
        try
        {
            return text.Split(',', StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UserError($"expected comma-separated counts, got '{text}'", field: "--adapters");
        }
    }
}
