using System.CommandLine;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Training;

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
            var result = TrainingRun.Execute(settings, Console.Error.WriteLine, ct);
            Console.Error.WriteLine($"done: {result.Steps} steps, train loss {result.TrainLoss:F4}" +
                (result.EvalLoss is double e ? $", eval loss {e:F4}" : "") + $", {result.TokensPerSecond:F0} tokens/s, {result.RuntimeSeconds:F1} s");
            return Task.FromResult(result.Interrupted ? ExitCodes.Interrupted : ExitCodes.Ok);
        });
        return command;
    }
}
