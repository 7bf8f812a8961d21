using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Evaluation.Prediction;

public sealed class BatchPredictionTests
{
    [Fact]
    public void Eval_WritesPredictionsAndLlamaFactoryMetrics()
    {
        using var dir = new TempDirectory();
        var results = BatchPrediction.Run(new PredictRequest(TestPaths.TinyStories, null, "stories", TestPaths.Datasets, "alpaca", 12, dir.Path, BatchSize: 4, MaxSamples: 6), _ => { });
        var lines = File.ReadAllLines(dir.File("generated_predictions.jsonl"));
        Assert.Equal(6, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Contains("Write one sentence about", first.RootElement.GetProperty("prompt").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(first.RootElement.GetProperty("label").GetString()));
        foreach (var key in new[] { "predict_rouge-1", "predict_rouge-2", "predict_rouge-l", "predict_bleu-4", "google_rougeLsum_f", "sacrebleu", "perplexity", "predict_samples_per_second" })
            Assert.True(results.ContainsKey(key), key);
        Assert.True((double)results["perplexity"]! > 1);
        Assert.True(File.Exists(dir.File("predict_results.json")));
    }

    [Fact]
    public void UnknownDataset_IsAUserError() =>
        Assert.Throws<UserError>(() => BatchPrediction.Run(new PredictRequest(TestPaths.TinyStories, null, "nope", TestPaths.Datasets, null, 4, Path.GetTempPath()), _ => { }));
}
