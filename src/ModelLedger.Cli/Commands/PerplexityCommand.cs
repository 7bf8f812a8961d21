using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Engine.Quantization;
using ModelLedger.Evaluation.Perplexity;
using Spectre.Console;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger perplexity</c>: llama-perplexity's figure for a text file, with the weights as loaded and
/// fake-quantized to Q8_0 / NF4 (the quality each quantization costs), one row each.</summary>
internal static class PerplexityCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var file = new Option<string>("--file", "-f") { Required = true, Description = "The text to score (UTF-8)" };
        var context = new Option<int?>("--ctx", "-c")
            { Description = "Tokens per chunk (default: 512, or the model's max_position_embeddings if smaller)" };
        var weights = new Option<string>("--weights")
        {
            DefaultValueFactory = _ => "f32,q8_0,nf4",
            Description = "Weight types to score, comma-separated: f32 (as loaded), q8_0, nf4 (weights only: "
                + "activations stay fp32)",
        };
        var json = new Option<bool>("--json") { Description = "The rows as one JSON array on stdout" };
        var command = new Command("perplexity", "Perplexity of a text file (as llama-perplexity), per weight type")
            { file, context, weights, json };
        command.With(model.All);
        command.SetAction((p, _) =>
        {
            var path = p.GetValue(file)!;
            if (!File.Exists(path)) throw new UserError("no such file", file: path, field: "--file");
            var types = p.GetValue(weights)!
                .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(w => WeightQuantizations.Parse(w, "--weights")).Distinct().Order().ToList();
            if (types.Count == 0) throw new UserError("name at least one weight type", field: "--weights");
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            int ctx = p.GetValue(context) ?? Math.Min(512, loaded.Config.MaxPositionEmbeddings);
            var rows = TextPerplexity.Run(loaded, File.ReadAllText(path), ctx, types, Console.Error.WriteLine);
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(rows));
                return Task.FromResult(ExitCodes.Ok);
            }
            var invariant = CultureInfo.InvariantCulture;
            var table = new Table().AddColumns("weights", "perplexity", "±", "vs f32", "same top token as f32",
                "tokens scored");
            double? f32 = rows.FirstOrDefault(r => r.Weights == "f32")?.Perplexity;
            foreach (var r in rows)
                table.AddRow(r.Weights, r.Perplexity.ToString("F4", invariant),
                    r.StandardError.ToString("F4", invariant),
                    f32 is double b ? (r.Perplexity / b - 1).ToString("+0.00%;-0.00%", invariant) : "",
                    r.SameTopToken?.ToString("P2", invariant) ?? "", r.Tokens.ToString(invariant));
            AnsiConsole.Write(table);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
