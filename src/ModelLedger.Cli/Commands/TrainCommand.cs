using System.CommandLine;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Training;
using Spectre.Console;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger train CONFIG.yaml [key=value | --key value ...]</c>: a LLaMA-Factory-style training run.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Argument<string>("config") { Description = "Training YAML (LLaMA-Factory keys)" };
        var command = new Command("train", "Fine-tune a model (lora, qlora, full, freeze, ptuning) from a YAML config; overrides as key=value or --key value")
        {
            config,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((p, ct) =>
        {
            var raw = RawConfig.Load(p.GetValue(config)!, p.UnmatchedTokens);
            var settings = TrainConfig.From(raw, Console.Error.WriteLine);
            var result = Console.IsErrorRedirected
                ? TrainingRun.Execute(settings, Console.Error.WriteLine, ct)
                : WithProgressBar(settings, ct);
            Console.Error.WriteLine($"done: {result.Steps} steps, train loss {result.TrainLoss:F4}" +
                (result.EvalLoss is double e ? $", eval loss {e:F4}" : "") + $", {result.TokensPerSecond:F0} tokens/s, {result.RuntimeSeconds:F1} s");
            return Task.FromResult(result.Interrupted ? ExitCodes.Interrupted : ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>An interactive terminal gets a live progress bar (with ETA) under the log lines; redirected output
    /// gets the log lines alone, each with its ETA.</summary>
    private static TrainResult WithProgressBar(TrainConfig settings, CancellationToken ct)
    {
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(Console.Error) });
        TrainResult? result = null;
        console.Progress()
            .Columns(new Spectre.Console.TaskDescriptionColumn(), new Spectre.Console.ProgressBarColumn(), new Spectre.Console.PercentageColumn(),
                new Spectre.Console.ElapsedTimeColumn(), new Spectre.Console.RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("train", autoStart: false);
                result = TrainingRun.Execute(settings, line => console.MarkupLine(Spectre.Console.Markup.Escape(line)), ct, (step, total) =>
                {
                    if (!task.IsStarted) task.StartTask();
                    task.MaxValue = total;
                    task.Value = step;
                });
            });
        return result!;
    }
}
