using System.Diagnostics;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>The C# decode step reads weights, the KV cache and writes logits by pointer while other threads allocate
/// and collect: every tensor it points into must stay referenced (docs/architecture.md). Generation with the step on,
/// greedy (fused argmax) and sampled (the sampler reads the step's logits tensor), fp32 and fp16 caches, a left-padded
/// batch, repeated under a collector that never stops; the expected ids are libtorch's (the step off), computed first.
/// </summary>
public sealed class DecodeUnderGarbageCollectionTests
{
    private static readonly int[][] Prompts = [[1, 450, 1217], [1, 318]];

    [Theory]
    [InlineData(false, ScalarType.Float32)]
    [InlineData(true, ScalarType.Float32)]
    [InlineData(false, ScalarType.Float16)]
    public async Task Decode_UnderConstantGarbageCollection_GivesLibtorchsTokens(bool sample, ScalarType kv)
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var options = new GenerationOptions
        {
            MaxNewTokens = 32, Seed = 5, KvCacheDType = kv,
            Temperature = sample ? 0.8 : 0, TopK = sample ? 40 : 0, RepetitionPenalty = sample ? 1.3 : 1.0,
        };
        var generator = new TextGenerator(model);
        int[][] expected;
        DecodeSession.Enabled = false;
        try
        {
            expected = Ids(generator.Generate(Prompts, options));
        }
        finally
        {
            DecodeSession.Enabled = true;
        }
        await ConstantCollector.Repeat(TimeSpan.FromSeconds(4), 6,
            () => Assert.Equal(expected, Ids(generator.Generate(Prompts, options))));
    }

    private static int[][] Ids(IReadOnlyList<GenerationResult> results) =>
        results.Select(r => r.TokenIds.ToArray()).ToArray();
}
