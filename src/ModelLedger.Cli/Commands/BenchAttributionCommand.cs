using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Bench;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger bench attribution</c>: validation of training-data attribution by retraining (see
/// <see cref="AttributionBenchmark"/>). Every size is a flag, so a smoke run takes seconds.</summary>
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
        var checkpoints = Int("--checkpoints", d.Checkpoints, "Checkpoints TracIn-CP samples");
        var dims = Int("--dims", d.Dims, "Projection width k");
        var topK = Int("--top-k", d.TopK, "Contributors removed per query in the counterfactual");
        var seeds = Int("--seeds", d.Seeds, "Training seeds of the counterfactual");
        var subsets = Int("--subsets", d.Subsets, "Random 50% subsets for the linear datamodeling score");
        var sizes = new Option<string>("--latency-sizes") { DefaultValueFactory = _ => string.Join(",", d.LatencySizes), Description = "Index sizes for the query-latency rows" };
        var json = new Option<bool>("--json") { Description = "The report as one JSON object on stdout" };
        var report = new Option<string?>("--report") { Description = "Also write the markdown tables to this file" };
        var command = new Command("attribution", "Counterfactual, LDS, canary and latency validation of training-data attribution")
        {
            train, contributors, canaries, copies, queries, baseSteps, steps, checkpoints, dims, topK, seeds, subsets, sizes, json, report,
        };
        command.SetAction((p, ct) =>
        {
            var options = new AttributionBenchOptions
            {
                TrainExamples = p.GetValue(train), Contributors = p.GetValue(contributors), Canaries = p.GetValue(canaries), CanaryCopies = p.GetValue(copies),
                Queries = p.GetValue(queries), BaseSteps = p.GetValue(baseSteps), Steps = p.GetValue(steps), Checkpoints = p.GetValue(checkpoints),
                Dims = p.GetValue(dims), TopK = p.GetValue(topK), Seeds = p.GetValue(seeds), Subsets = p.GetValue(subsets),
                LatencySizes = p.GetValue(sizes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(s => int.TryParse(s, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new UserError($"'{s}' is not a positive integer", field: "--latency-sizes")).ToList(),
            };
            using var work = new TempFolder();
            var result = AttributionBenchmark.Run(work.Path, options, Console.Error.WriteLine, ct);
            var markdown = AttributionBenchReportMarkdown.Render(result);
            Console.WriteLine(p.GetValue(json) ? JsonSerializer.Serialize(result) : markdown);
            if (p.GetValue(report) is string file) File.WriteAllText(file, markdown);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
