using System.Diagnostics;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;

namespace ModelLedger.Engine.Generation;

/// <summary>Generation runs for hours in the server and the worker beside threads that allocate. Its per-call setup
/// (KV cache, generator), the cache writes (views the cache copies into) and the sampler's temporaries must stay
/// referenced while libtorch reads them, or another thread's GC frees them mid-call (docs/architecture.md). These
/// tests generate repeatedly under a collector that never stops and compare with the ids generated before it
/// started, greedy and sampled (temperature, top-k, top-p, repetition penalty: every sampler branch), batched with
/// left padding, with and without the cache.</summary>
public sealed class GenerationUnderGarbageCollectionTests
{
    private static readonly int[][] Prompts = [[1, 450, 1217], [1, 318]];   // ids below the 2048-token vocabulary

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public async Task Generate_UnderConstantGarbageCollection_GivesTheSameTokens(bool sample, bool cache)
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var options = new GenerationOptions
        {
            MaxNewTokens = 24, UseCache = cache, Seed = 5,
            Temperature = sample ? 0.8 : 0, TopK = sample ? 40 : 0, TopP = sample ? 0.9 : 1.0,
            RepetitionPenalty = sample ? 1.3 : 1.0,
        };
        var generator = new TextGenerator(model);
        var expected = Ids(generator.Generate(Prompts, options));
        await ConstantCollector.Repeat(TimeSpan.FromSeconds(4), 6,
            () => Assert.Equal(expected, Ids(generator.Generate(Prompts, options))));
    }

    private static int[][] Ids(IReadOnlyList<GenerationResult> results) =>
        results.Select(r => r.TokenIds.ToArray()).ToArray();
}
