using System.Text.Json.Nodes;

namespace ModelLedger.Jobs.Predict;

public sealed class PredictScoresTests
{
    [Fact]
    public void From_ReadsScoresAndIntegerCounts()
    {
        // the shape BatchPrediction writes: scores as doubles, the sample count as an integer
        var json = new JsonObject
        {
            ["predict_rouge-1"] = 10.5, ["predict_rouge-2"] = 2.25, ["predict_rouge-l"] = 8.0, ["predict_bleu-4"] = 3.5,
            ["google_rouge1_f"] = 0.1, ["google_rouge2_f"] = 0.02, ["google_rougeL_f"] = 0.08,
            ["google_rougeLsum_f"] = 0.09, ["sacrebleu"] = 1.5, ["predict_loss"] = 2.0, ["perplexity"] = 7.39,
            ["predict_samples"] = 4, ["predict_runtime"] = 1.25, ["predict_samples_per_second"] = 3.2,
        };
        var scores = PredictScores.From(json);
        Assert.Equal(8.0, scores.RougeL);
        Assert.Equal(4, scores.Samples);
        Assert.Same(json, scores.Json);
        json.Remove("perplexity");
        Assert.Throws<InvalidOperationException>(() => PredictScores.From(json));
    }
}
