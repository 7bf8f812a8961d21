using System.Diagnostics;
using ModelLedger.Testing;

namespace ModelLedger.Evaluation.Prediction;

/// <summary><c>mledger eval</c> also runs inside the server and the worker, beside threads that allocate: its model
/// load, batched generation and teacher-forced answer scoring must keep every tensor temporary referenced while
/// libtorch reads it (docs/architecture.md). This evaluates repeatedly under a collector that never stops and
/// compares the predictions and the answer loss with the ones computed before it started.</summary>
public sealed class PredictionUnderGarbageCollectionTests
{
    [Fact]
    public async Task Eval_UnderConstantGarbageCollection_PredictsAndScoresTheSame()
    {
        using var dir = new TempDirectory();
        var (predictions, loss) = Evaluate(dir.Sub("reference"));
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(6) || runs < 2)
            {
                var again = Evaluate(dir.Sub($"run{++runs}"));
                Assert.Equal(predictions, again.Predictions);
                Assert.Equal(loss, again.Loss);
            }
        }
    }

    private static (string Predictions, double Loss) Evaluate(string output)
    {
        var results = BatchPrediction.Run(new PredictRequest(TestPaths.TinyStories, null, "stories", TestPaths.Datasets,
            "alpaca", 12, output, BatchSize: 4, MaxSamples: 6), _ => { });
        var predictions = File.ReadAllText(Path.Combine(output, "generated_predictions.jsonl"));
        return (predictions, (double)results["predict_loss"]!);
    }
}
