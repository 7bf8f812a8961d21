using System.CommandLine;
using System.Runtime.InteropServices;
using ModelLedger.Jobs;
using ModelLedger.Jobs.Predict;
using ModelLedger.Jobs.Train;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger train CONFIG.yaml [key=value | --key value ...]</c>: a LLaMA-Factory-style training run (or a
/// do_predict config's batch prediction). <c>--events jsonl</c> prints the job's events as JSON lines on stdout, and
/// SIGTERM stops like Ctrl-C (checkpoint, exit 130), so a server can run, watch and cancel it as a child
/// process.</summary>
internal static class TrainCommand
{
    private static readonly Argument<string?> Config = new("config")
    {
        Description = "Training config, YAML or JSON (LLaMA-Factory keys)", Arity = ArgumentArity.ZeroOrOne,
    };
    private static readonly Option<string> Events = new("--events")
    {
        DefaultValueFactory = _ => "human",
        Description = "human (log lines, progress bar) or jsonl (one event per line on stdout)",
    };
    private static readonly Option<string?> Workspace = new("--workspace")
    {
        Description = "Record the finished run as a training.run event in this ledger workspace",
    };
    private static readonly Option<string?> Db = new("--db")
    {
        Description = "PostgreSQL connection string of that workspace",
    };
    private static readonly Option<string?> ListKeys = new("--list-keys")
    {
        Description = "List every config key and exit (text, or markdown as in docs/training.md)",
        Arity = ArgumentArity.ZeroOrOne,
    };
    private static readonly Option<bool> PrintConfig = new("--print-config")
    {
        Description = "Print the canonical config (whose SHA-256 is the ledger's config_hash) and exit",
    };

    public static Command Create()
    {
        var command = new Command("train",
            "Fine-tune a model (lora, qlora, full, freeze, ptuning) from a YAML config; overrides as key=value or " +
            "--key value.\n\nConfig keys (name, type, default, help [allowed]):\n" + TrainKeys.PlainTable())
        {
            Config, Events, Workspace, Db, ListKeys, PrintConfig,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((p, ct) => Task.FromResult(Run(p, ct)));
        return command;
    }

    private static int Run(ParseResult p, CancellationToken ct)
    {
        if (p.GetResult(ListKeys) is not null)
        {
            Console.Write(p.GetValue(ListKeys) switch
            {
                null or "text" => TrainKeys.PlainTable(),
                "markdown" => TrainKeys.MarkdownTable(),
                var other => throw new UserError($"unknown format '{other}'", field: "--list-keys",
                    hint: "use text or markdown"),
            });
            return ExitCodes.Ok;
        }
        var jsonl = p.GetValue(Events) switch
        {
            "human" => false,
            "jsonl" => true,
            var other => throw new UserError($"unknown event format '{other}'", field: "--events",
                hint: "use human or jsonl"),
        };
        var path = p.GetValue(Config) ?? throw new UserError("a config file is required", field: "config",
            hint: "mledger train CONFIG.yaml [key=value ...]; mledger train --list-keys lists the keys");
        var raw = RawConfig.Load(path, p.UnmatchedTokens);
        if (PredictConfig.IsPredict(raw)) return Predict(raw, jsonl, ct);
        var settings = TrainConfig.From(raw, Console.Error.WriteLine);
        if (p.GetValue(PrintConfig))
        {
            Console.WriteLine(settings.ToCanonicalJson().ToJsonString());
            return ExitCodes.Ok;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;   // stop at the next step with a checkpoint instead of dying mid-write
            stop.Cancel();
        });
        var request = new TrainRequest(settings, p.GetValue(Workspace), p.GetValue(Db));
        var job = new TrainJob();
        var result = jsonl
            ? job.Run(request, JobRendering.JsonLines(), stop.Token)
            : ProgressDisplay.Run("train", (log, progress) => job.Run(request, JobRendering.To(log, progress), stop.Token));
        var run = result.Run;
        Console.Error.WriteLine($"done: {run.Steps} steps, train loss {run.TrainLoss:F4}" +
            (run.EvalLoss is double e ? $", eval loss {e:F4}" : "") +
            $", {run.TokensPerSecond:F0} tokens/s, {run.RuntimeSeconds:F1} s");
        return run.Interrupted ? ExitCodes.Interrupted : ExitCodes.Ok;
    }

    /// <summary>LLaMA-Factory's predict configs (do_predict: true, predict_with_generate: true) run batch
    /// prediction.</summary>
    private static int Predict(RawConfig raw, bool jsonl, CancellationToken ct)
    {
        var request = PredictConfig.From(raw);
        if (jsonl)
        {
            new PredictJob().Run(request, JobRendering.JsonLines(), ct);
            return ExitCodes.Ok;
        }
        var scores = new PredictJob().Run(request, new JobEvents(e =>
        {
            if (e is MessageEvent m) Console.Error.WriteLine(m.Message);
        }), ct);
        Console.WriteLine(scores.Json.ToJsonString());
        return ExitCodes.Ok;
    }
}
