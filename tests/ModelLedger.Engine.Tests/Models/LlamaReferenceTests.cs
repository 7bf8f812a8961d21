using ModelLedger.Engine.Generation;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

/// <summary>TinyStories-656K against numbers from an independent reference implementation.</summary>
public sealed class LlamaReferenceTests(TinyStoriesModel fixture) : IClassFixture<TinyStoriesModel>
{
    private static readonly int[] ReferenceGreedy = [147, 201, 282, 215, 286, 598, 1662, 356, 499, 826, 1363, 1145, 1652, 615, 242, 1482, 951, 628, 499, 826];
    private static readonly float[] ReferenceLogits = [0.0291f, -0.2011f, -0.4471f, 1.9164f, -2.5787f];

    private PretrainedModel Model => fixture.Model;

    [Fact]
    public void GreedyFromBos_MatchesReferenceTokens()
    {
        var result = new TextGenerator(Model).Generate([[1]], new GenerationOptions { MaxNewTokens = 20 })[0];
        Assert.Equal(ReferenceGreedy, result.TokenIds);
    }

    [Fact]
    public void LogitsAtPositionZero_MatchReference()
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var logits = Model.Network.forward(tensor(new long[] { 1 }, [1, 1]));
        var first = logits[0, 0].narrow(0, 0, 5).data<float>().ToArray();
        for (int i = 0; i < 5; i++) Assert.InRange(first[i], ReferenceLogits[i] - 1e-3f, ReferenceLogits[i] + 1e-3f);
    }

    [Theory]
    [InlineData("TinyStories-656K")]
    [InlineData("stories260K")]
    public void LogitsAtEveryPosition_MatchTheIndependentReferenceForward(string name)
    {
        var directory = Path.Combine(TestPaths.RepositoryRoot, "testdata", "models", name);
        using var model = PretrainedModel.Load(directory);
        var ids = model.Tokenizer.Encode(ReferenceLlama.StoryText, addSpecialTokens: true);
        Assert.True(ids.Length >= 40, $"only {ids.Length} tokens");
        var expected = new ReferenceLlama(directory).Logits(ids);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var logits = model.Network.forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]))[0];
        Assert.InRange(MaxAbsDifference(expected, logits), 0, 1e-4);
    }

    /// <summary>max |reference - ours| over every position and vocabulary entry.</summary>
    internal static double MaxAbsDifference(double[][] expected, Tensor actual) =>
        ReferenceLlama.MaxAbsDifference(expected, actual.to(ScalarType.Float32).data<float>().ToArray());

    [Fact]
    public void KvCacheGeneration_EqualsRecomputation()
    {
        var prompt = Model.Tokenizer.Encode("Once upon a time, there was a dog", addSpecialTokens: true);
        var options = new GenerationOptions { MaxNewTokens = 24 };
        var cached = new TextGenerator(Model).Generate([prompt], options)[0];
        var recomputed = new TextGenerator(Model).Generate([prompt], options with { UseCache = false })[0];
        Assert.Equal(recomputed.TokenIds, cached.TokenIds);
    }

    [Fact]
    public void CachedLogits_EqualFullForwardLogits()
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var ids = tensor(Model.Tokenizer.Encode("The cat sat on the mat and", addSpecialTokens: true).Select(i => (long)i).ToArray()).unsqueeze(0);
        long length = ids.shape[1];
        var full = Model.Network.forward(ids);
        using var cache = new KvCache(Model.Config.NumHiddenLayers, 1, Model.Config.NumKeyValueHeads, Model.Config.HeadDim, (int)length, ScalarType.Float32, CPU);
        var steps = new List<Tensor>();
        for (int i = 0; i < length; i++) steps.Add(Model.Network.Forward(ids.narrow(1, i, 1), null, cache, i, lastOnly: false));
        Assert.True(cat(steps, 1).allclose(full, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void BatchedGeneration_EqualsOneAtATime()
    {
        string[] texts = ["Once upon a time", "Tom had a big red ball and he", "The sun"];
        var prompts = texts.Select(t => Model.Tokenizer.Encode(t, addSpecialTokens: true)).ToArray();
        var options = new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [-1] };
        var generator = new TextGenerator(Model);
        var batched = generator.Generate(prompts, options);
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(generator.Generate([prompts[i]], options)[0].TokenIds, batched[i].TokenIds);
    }

    [Fact]
    public void ParameterCount_CountsTiedEmbeddingOnce() =>
        Assert.Equal(656_000, Model.Network.ParameterCount());
}
