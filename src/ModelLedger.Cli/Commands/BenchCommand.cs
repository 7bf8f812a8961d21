using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Bench;
using Spectre.Console;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger bench &lt;area&gt;</c>: measured throughput as ratios against this machine's matmul peak.</summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Benchmarks that print ratios measured in one run") { Generate() };

    private static Command Generate()
    {
        var model = new ModelOptions();
        var promptLength = new Option<int>("--prompt-tokens") { DefaultValueFactory = _ => 128 };
        var newTokens = new Option<int>("--new-tokens") { DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8, Description = "Batch size of the batched decode row" };
        var output = new Option<string?>("--out") { Description = "Also write the rows as JSON to this file" };
        var command = new Command("generate", "Prefill and decode tokens/s with and without the KV cache") { promptLength, newTokens, batch, output };
        command.With(model.All);
        command.SetAction((p, _) =>
        {
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            if (p.GetValue(newTokens) < 2) throw new UserError("must be ≥ 2", field: "--new-tokens");
            var (peak, rows) = GenerateBenchmark.Run(loaded, p.GetValue(promptLength), p.GetValue(newTokens), p.GetValue(batch), Console.Error.WriteLine);
            var table = new Table().AddColumns("scenario", "batch", "tokens/s", "model GFLOP/s", "of matmul peak");
            foreach (var r in rows)
                table.AddRow(r.Scenario, r.Batch.ToString(CultureInfo.InvariantCulture), r.TokensPerSecond.ToString("F1", CultureInfo.InvariantCulture),
                    r.ModelGflops.ToString("F1", CultureInfo.InvariantCulture), r.OfPeak.ToString("P1", CultureInfo.InvariantCulture));
            AnsiConsole.MarkupLine($"model: {Markup.Escape(loaded.Directory)} ({loaded.Network.ParameterCount():N0} parameters, {loaded.Device}, {loaded.Network.DType})");
            AnsiConsole.MarkupLine($"measured fp32 matmul peak: {peak:F1} GFLOP/s on {Environment.ProcessorCount} cores");
            AnsiConsole.Write(table);
            if (p.GetValue(output) is string file)
                File.WriteAllText(file, JsonSerializer.Serialize(new { machine = Environment.MachineName, cores = Environment.ProcessorCount, peak_gflops = peak, rows }));
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
