using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Bench;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger bench attribution</c>: validation of training-data attribution by retraining (see
/// <see cref="AttributionBenchmark"/>), then the RAG (<see cref="RagValidation"/>, on the benchmark's base model unless
/// --rag-model names one) and exact-span (<see cref="SpanValidation"/>) checks, so one command prints the whole
/// validation table. Every size is a flag, so a smoke run takes seconds.</summary>
internal static class BenchAttributionCommand
{
    public static Command Create()
    {
        var d = new AttributionBenchOptions();
        Option<int> Int(string name, int fallback, string description) => new(name) { DefaultValueFactory = _ => fallback, Description = description };
        var train = Int("--train", d.TrainExamples, "Ad examples in the datanet (canaries come on top)");
        var contributors = Int("--contributors", d.Contributors, "Synthetic contributors");
        var canaries = Int("--canaries", d.Canaries, "Planted canaries");
        var copies = Int("--canary-copies", d.CanaryCopies, "Training copies of each canary");
        var queries = Int("--queries", d.Queries, "Held-out queries for the counterfactual and LDS");
        var baseSteps = Int("--base-steps", d.BaseSteps, "Pre-training steps of the base model (0: random init)");
        var steps = Int("--steps", d.Steps, "LoRA steps of every training run");
        var baseModel = new Option<string?>("--base-model") { Description = "Reuse the base-model folder of an earlier run instead of pre-training" };
        var checkpoints = Int("--checkpoints", d.Checkpoints, "Checkpoints TracIn-CP samples");
        var dims = Int("--dims", d.Dims, "Projection width k");
        var topK = Int("--top-k", d.TopK, "Contributors removed per query in the counterfactual");
        var seeds = Int("--seeds", d.Seeds, "Training seeds of the counterfactual");
        var draws = Int("--random-draws", d.RandomDraws,
            "Random removals averaged per query (the counterfactual's baseline)");
        var subsets = Int("--subsets", d.Subsets, "Random 50% subsets for the linear datamodeling score");
        var sizes = new Option<string>("--latency-sizes") { DefaultValueFactory = _ => string.Join(",", d.LatencySizes), Description = "Index sizes for the query-latency rows" };
        var ragQuestions = Int("--rag-questions", 4, "RAG questions per setting (the full table used 20)");
        var ragSettings = new Option<string>("--rag-settings") { DefaultValueFactory = _ => "4:0", Description = "RAG k:ablations pairs, e.g. 4:0,10:64" };
        var ragModel = new Option<string?>("--rag-model") { Description = "HF model directory for the RAG check (default: the benchmark's base model)" };
        var spanSizes = new Option<string>("--span-sizes") { DefaultValueFactory = _ => "100000", Description = "Span corpus sizes in tokens, e.g. 1000000,10000000" };
        var spanQueries = Int("--span-queries", 100, "Timed span queries per size");
        var spanCheck = Int("--span-check", 10, "Span queries checked by brute force");
        var latencyOnly = new Option<bool>("--latency-only")
        {
            Description = "Only the query-latency rows (random sketches of --checkpoints x --dims at --latency-sizes), no training",
        };
        var json = new Option<bool>("--json") { Description = "The report as one JSON object on stdout" };
        var report = new Option<string?>("--report") { Description = "Also write the markdown tables to this file" };
        var command = new Command("attribution", "Counterfactual, LDS, canary and latency validation of training-data attribution")
        {
            train, contributors, canaries, copies, queries, baseSteps, baseModel, steps, checkpoints, dims, topK, seeds, draws, subsets, sizes,
            ragQuestions, ragSettings, ragModel, spanSizes, spanQueries, spanCheck, latencyOnly, json, report,
        };
        command.SetAction((p, ct) =>
        {
            var options = new AttributionBenchOptions
            {
                TrainExamples = p.GetValue(train), Contributors = p.GetValue(contributors), Canaries = p.GetValue(canaries), CanaryCopies = p.GetValue(copies),
                Queries = p.GetValue(queries), BaseSteps = p.GetValue(baseSteps), Steps = p.GetValue(steps), Checkpoints = p.GetValue(checkpoints),
                Dims = p.GetValue(dims), TopK = p.GetValue(topK), Seeds = p.GetValue(seeds), RandomDraws = p.GetValue(draws), Subsets = p.GetValue(subsets),
                BaseModel = p.GetValue(baseModel),
                LatencySizes = p.GetValue(sizes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(s => int.TryParse(s, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new UserError($"'{s}' is not a positive integer", field: "--latency-sizes")).ToList(),
            };
            var settings = RagCommand.ParseSettings(p.GetValue(ragSettings)!, "--rag-settings");
            var spanSizeList = SpansCommand.ParseSizes(p.GetValue(spanSizes)!, "--span-sizes");
            if (p.GetValue(ragQuestions) < 1) throw new UserError("must be ≥ 1", field: "--rag-questions");
            if (p.GetValue(spanQueries) < 10) throw new UserError("must be ≥ 10", field: "--span-queries");
            if (p.GetValue(latencyOnly))
            {
                // Equal TracIn weights: the scan's cost does not depend on them; no gradient rate, so no build estimate.
                var rows = AttributionLatency.Measure(Enumerable.Repeat(1.0 / options.Checkpoints, options.Checkpoints).ToList(), options.Dims,
                    double.NaN, options.LatencySizes, Console.Error.WriteLine);
                var table = AttributionBenchReportMarkdown.Latency(rows);
                Console.WriteLine(p.GetValue(json) ? JsonSerializer.Serialize(new { latency = rows }) : table);
                if (p.GetValue(report) is string latencyFile) File.WriteAllText(latencyFile, table);
                return Task.FromResult(ExitCodes.Ok);
            }
            using var work = new TempFolder();
            var result = AttributionBenchmark.Run(work.Path, options, Console.Error.WriteLine, ct);
            IReadOnlyList<RagBenchRow> ragRows;
            using (var model = PretrainedModel.Load(p.GetValue(ragModel) ?? AttributionBenchmark.BaseModelDirectory(work.Path, options),
                TorchRuntime.ParseDevice("cpu"), TorchRuntime.ParseDType("float32")))
                ragRows = RagValidation.Run(model, p.GetValue(ragQuestions), settings, Console.Error.WriteLine);
            var spanRows = SpanValidation.Run(work.Path, spanSizeList, p.GetValue(spanQueries), p.GetValue(spanCheck), Console.Error.WriteLine);
            var markdown = AttributionBenchReportMarkdown.Render(result) + "\nRAG (remove the top-attributed vs a random retrieved document):\n\n"
                + RagCommand.Markdown(ragRows) + "\nExact spans (every reported span checked by brute force on a sample):\n\n" + SpansCommand.Markdown(spanRows);
            Console.WriteLine(p.GetValue(json)
                ? JsonSerializer.Serialize(new { attribution = result, rag = ragRows, spans = spanRows }) : markdown);
            if (p.GetValue(report) is string file) File.WriteAllText(file, markdown);
            // As bench spans: a reported span the brute-force scan does not confirm fails the run.
            return Task.FromResult(spanRows.All(r => r.SpansConfirmed == r.SpansChecked) ? ExitCodes.Ok : ExitCodes.VerificationFailed);
        });
        return command;
    }
}
