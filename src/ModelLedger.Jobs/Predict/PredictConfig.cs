using System.Globalization;
using ModelLedger.Evaluation.Prediction;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Jobs.Predict;

/// <summary>LLaMA-Factory's predict configs (<c>do_predict: true</c>, <c>predict_with_generate: true</c>) read into a
/// <see cref="PredictRequest"/>. Training keys are accepted (a predict config is usually a copy of the training
/// one); anything else is an error.</summary>
public static class PredictConfig
{
    private static readonly string[] PredictKeys =
        ["do_predict", "predict_with_generate", "eval_dataset", "max_new_tokens", "per_device_eval_batch_size"];

    /// <summary>True when the config asks for prediction rather than training.</summary>
    public static bool IsPredict(RawConfig raw) => raw.Get("do_predict") is "true" or "True";

    public static PredictRequest From(RawConfig raw)
    {
        var unknown = raw.Keys
            .Where(k => !PredictKeys.Contains(k) && TrainKeys.Find(k) is null && !TrainKeys.Ignored.Contains(k))
            .ToList();
        if (unknown.Count > 0)
            throw new UserError($"unknown key(s) for a predict run: {string.Join(", ", unknown)}", file: raw.Source);
        if (raw.Get("predict_with_generate") is "false" or "False")
            throw new UserError("only predict_with_generate: true is supported (scores come from generated text)",
                file: raw.Source, line: raw.LineOf("predict_with_generate"), field: "predict_with_generate");
        string Required(string key) => raw.Get(key) ?? throw new UserError("is required", file: raw.Source, field: key);
        int Int(string key, int fallback) => raw.Get(key) is string v
            ? int.TryParse(v, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
                : throw new UserError($"must be a positive integer (got {v})", file: raw.Source, line: raw.LineOf(key),
                    field: key)
            : fallback;
        return new PredictRequest(Required("model_name_or_path"), raw.Get("adapter_name_or_path"),
            raw.Get("eval_dataset") ?? Required("dataset"), raw.Get("dataset_dir") ?? Default("dataset_dir"),
            raw.Get("template"), Int("max_new_tokens", 128), Required("output_dir"), Int("per_device_eval_batch_size", 8),
            raw.Get("max_samples") is null ? null : Int("max_samples", 0), raw.Get("device") ?? Default("device"));
    }

    /// <summary>Keys shared with training take the training table's default.</summary>
    private static string Default(string key) => TrainKeys.Find(key)!.Default;
}
