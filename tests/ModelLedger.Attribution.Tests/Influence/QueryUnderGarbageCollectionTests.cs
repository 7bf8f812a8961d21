using System.Diagnostics;
using ModelLedger.Testing;

namespace ModelLedger.Attribution.Influence;

/// <summary>The server attributes every billed inference in the background, beside request threads that allocate.
/// Opening an attributor (model load, adapter attach, the copies of the final adapter weights) and scoring a query
/// (per-checkpoint gradients, sketches, the scan) must keep every tensor temporary referenced while libtorch reads
/// it (docs/architecture.md). This opens and queries repeatedly under a collector that never stops and compares
/// the scores with the ones computed before it started.</summary>
[Collection(Collections.TorchRng)]
public sealed class QueryUnderGarbageCollectionTests(TrainedAdapter run) : IClassFixture<TrainedAdapter>
{
    [Fact]
    public async Task OpenAndScore_UnderConstantGarbageCollection_GiveTheSameScores()
    {
        var summary = GradientIndexBuilder.Run(run.Request("gc", dims: 64), _ => { }, CancellationToken.None);
        var (prompt, response) = run.Records[2];
        var expected = Scores(summary.Directory, prompt, response);
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(6) || runs < 3)
            {
                runs++;
                var again = Scores(summary.Directory, prompt, response);
                Assert.Equal(expected.Dot, again.Dot);
                Assert.Equal(expected.Fisher, again.Fisher);
            }
        }
    }

    private static (double[] Dot, double[] Fisher) Scores(string index, string prompt, string response)
    {
        using var attributor = InfluenceAttributor.Open(index);
        var query = attributor.Encode(prompt, response);
        return (attributor.Scores(query, InfluenceScore.Dot), attributor.Scores(query, InfluenceScore.Fisher));
    }
}
