using System.Text.Json.Nodes;

namespace ModelLedger.Jobs.Predict;

/// <summary>predict_results.json as a typed record (LLaMA-Factory's names in <see cref="Json"/>): LLaMA-Factory
/// ROUGE/BLEU (×100), Google ROUGE F1, sacreBLEU, answer loss and perplexity, count and speed.</summary>
public sealed record PredictScores(double Rouge1, double Rouge2, double RougeL, double Bleu4, double GoogleRouge1F,
    double GoogleRouge2F, double GoogleRougeLF, double GoogleRougeLsumF, double SacreBleu, double PredictLoss,
    double Perplexity, int Samples, double RuntimeSeconds, double SamplesPerSecond)
{
    /// <summary>The object as written to predict_results.json.</summary>
    public required JsonObject Json { get; init; }

    /// <summary>Reads the object <c>BatchPrediction.Run</c> returns; this is the one place its keys are
    /// named.</summary>
    public static PredictScores From(JsonObject json)
    {
        // Counts are stored as integers, scores as doubles.
        double D(string key) => json[key] switch
        {
            JsonValue v when v.TryGetValue<double>(out var d) => d,
            JsonValue v when v.TryGetValue<int>(out var i) => i,
            var other => throw new InvalidOperationException($"predict results: {key} is {other?.ToJsonString()}"),
        };
        return new PredictScores(D("predict_rouge-1"), D("predict_rouge-2"), D("predict_rouge-l"), D("predict_bleu-4"),
            D("google_rouge1_f"), D("google_rouge2_f"), D("google_rougeL_f"), D("google_rougeLsum_f"), D("sacrebleu"),
            D("predict_loss"), D("perplexity"), (int)D("predict_samples"), D("predict_runtime"),
            D("predict_samples_per_second"))
        { Json = json };
    }
}
