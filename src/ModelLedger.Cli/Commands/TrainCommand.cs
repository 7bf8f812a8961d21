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
            if (raw.Get("do_predict") is "true" or "True") return Task.FromResult(Predict(raw, ct));
            var settings = TrainConfig.From(raw, Console.Error.WriteLine);
            var result = WithProgressBar(settings, ct);
            Console.Error.WriteLine($"done: {result.Steps} steps, train loss {result.TrainLoss:F4}" +
                (result.EvalLoss is double e ? $", eval loss {e:F4}" : "") + $", {result.TokensPerSecond:F0} tokens/s, {result.RuntimeSeconds:F1} s");
            return Task.FromResult(result.Interrupted ? ExitCodes.Interrupted : ExitCodes.Ok);
        });
        return command;
    }

    private static readonly string[] PredictKeys =
        ["do_predict", "predict_with_generate", "eval_dataset", "max_new_tokens", "per_device_eval_batch_size"];

    /// <summary>LLaMA-Factory's predict configs (do_predict: true, predict_with_generate: true) run batch prediction.</summary>
    private static int Predict(RawConfig raw, CancellationToken ct)
    {
        var unknown = raw.Keys.Where(k => !PredictKeys.Contains(k) && TrainKeys.Find(k) is null && !TrainKeys.Ignored.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UserError($"unknown key(s) for a predict run: {string.Join(", ", unknown)}", file: raw.Source);
        if (raw.Get("predict_with_generate") is "false" or "False")
            throw new UserError("only predict_with_generate: true is supported (scores come from generated text)", file: raw.Source, line: raw.LineOf("predict_with_generate"), field: "predict_with_generate");
        string Required(string key) => raw.Get(key) ?? throw new UserError("is required", file: raw.Source, field: key);
        int Int(string key, int fallback) => raw.Get(key) is string v
            ? int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new UserError($"must be a positive integer (got {v})", file: raw.Source, line: raw.LineOf(key), field: key)
            : fallback;
        var request = new Evaluation.Prediction.PredictRequest(Required("model_name_or_path"), raw.Get("adapter_name_or_path"),
            raw.Get("eval_dataset") ?? Required("dataset"), raw.Get("dataset_dir") ?? "data", raw.Get("template"), Int("max_new_tokens", 128),
            Required("output_dir"), Int("per_device_eval_batch_size", 8), raw.Get("max_samples") is null ? null : Int("max_samples", 0), raw.Get("device") ?? "cpu");
        var results = Evaluation.Prediction.BatchPrediction.Run(request, Console.Error.WriteLine, ct);
        Console.WriteLine(results.ToJsonString());
        return ExitCodes.Ok;
    }

    private static TrainResult WithProgressBar(TrainConfig settings, CancellationToken ct) =>
        ProgressDisplay.Run("train", (log, progress) => TrainingRun.Execute(settings, log, ct, progress));
}
