using System.CommandLine;
using System.Globalization;
using ModelLedger.Jobs;
using ModelLedger.Jobs.Quickstart;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger quickstart</c>: runs <see cref="QuickstartJob"/> on the bundled sample tokenizer and renders
/// its phases, its training steps and the ROUGE/BLEU table.</summary>
internal static class QuickstartCommand
{
    public static Command Create()
    {
        var workspace = new Option<string>("--workspace")
        {
            DefaultValueFactory = _ => "workspace", Description = "Folder for the artefacts",
        };
        var steps = new Option<int>("--steps")
        {
            DefaultValueFactory = _ => 300, Description = "Optimizer steps for each training stage",
        };
        var command = new Command("quickstart", "Run the main job end to end on the bundled sample data")
        {
            workspace, steps,
        };
        command.SetAction((p, ct) =>
        {
            var request = new QuickstartRequest(p.GetValue(workspace)!, p.GetValue(steps),
                Path.Combine(AppContext.BaseDirectory, "samples", "tokenizer"));
            var result = new QuickstartJob().Run(request, new JobEvents(Render), ct);
            PrintTable(result);
            var (dir, data, baseModel, adapter) = (result.Workspace, result.Data, result.BaseModel, result.Adapter);
            Console.Error.WriteLine();
            Console.Error.WriteLine($"Artefacts are in {dir} (the YAML files there are what each stage ran). Next:");
            Console.Error.WriteLine($"  ./mledger chat --model {baseModel} --adapter {adapter} --template alpaca");
            Console.Error.WriteLine($"  ./mledger eval --model {baseModel} --adapter {adapter} --dataset adgen_test " +
                $"--dataset_dir {data} --template alpaca --out {dir}/eval");
            Console.Error.WriteLine(
                $"  ./mledger export --model {baseModel} --adapter {adapter} --out {dir}/gguf --format gguf");
            // serve it: an OpenAI-compatible API on loopback, no keys or billing (docs/server.md for both)
            Console.Error.WriteLine($"  ./mledger serve --model {baseModel} --adapter ads={adapter} --template alpaca " +
                "--open --port 8080");
            QuickstartGui.PrintSteps(dir, baseModel, adapter);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static void Render(JobEvent e)
    {
        switch (e)
        {
            case PhaseEvent phase: Console.Error.WriteLine(phase.Phase); break;
            case MessageEvent m: Console.Error.WriteLine(m.Message); break;
            case StepEvent s:
                Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture,
                    "      step {0}/{1}  loss {2:F4}  {3:F0} tok/s  eta {4}", s.Step, s.Total, s.Loss, s.TokensPerSecond,
                    TimeSpan.FromSeconds(Math.Round(s.EtaSeconds ?? 0))));
                break;
        }
    }

    private static void PrintTable(QuickstartResult result)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine("| model | ROUGE-1 | ROUGE-2 | ROUGE-L | BLEU-4 | Google ROUGE-L F | perplexity |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, s) in new[] { ("base (pt only)", result.Base), ("base + LoRA adapter", result.Tuned) })
            Console.WriteLine(string.Format(inv, "| {0} | {1:F2} | {2:F2} | {3:F2} | {4:F2} | {5:F4} | {6:F2} |", name,
                s.Rouge1, s.Rouge2, s.RougeL, s.Bleu4, s.GoogleRougeLF, s.Perplexity));
    }
}
