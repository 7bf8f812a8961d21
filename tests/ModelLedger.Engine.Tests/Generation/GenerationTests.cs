using ModelLedger.Testing;

namespace ModelLedger.Engine.Generation;

public sealed class GenerationTests(TinyStoriesModel fixture) : IClassFixture<TinyStoriesModel>
{
    private TextGenerator Generator => new(fixture.Model);
    private static readonly int[] Bos = [1];

    [Fact]
    public void Sampling_IsDeterministicPerSeed()
    {
        var options = new GenerationOptions { MaxNewTokens = 30, Temperature = 1.0, TopP = 0.95, Seed = 3 };
        var a = Generator.Generate([Bos], options)[0].TokenIds;
        var b = Generator.Generate([Bos], options)[0].TokenIds;
        var c = Generator.Generate([Bos], options with { Seed = 4 })[0].TokenIds;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void TopKOne_EqualsGreedy()
    {
        var greedy = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 12 })[0].TokenIds;
        var topK = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 12, Temperature = 0.8, TopK = 1 })[0].TokenIds;
        Assert.Equal(greedy, topK);
    }

    [Fact]
    public void TinyTopP_EqualsGreedy()
    {
        var greedy = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 12 })[0].TokenIds;
        var nucleus = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 12, Temperature = 1.0, TopP = 1e-6 })[0].TokenIds;
        Assert.Equal(greedy, nucleus);
    }

    [Fact]
    public void RepetitionPenalty_AvoidsRepeatingTokens()
    {
        var plain = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 40 })[0].TokenIds;
        var penalised = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 40, RepetitionPenalty = 3.0 })[0].TokenIds;
        Assert.NotEqual(plain, penalised);
        Assert.True(penalised.Distinct().Count() >= plain.Distinct().Count());
    }

    [Fact]
    public void StopString_CutsTheTextAndEndsTheRow()
    {
        var result = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 40, StopStrings = ["Lily"] })[0];
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Equal("Once upon a time, there was a little girl named ", result.Text);
    }

    [Fact]
    public void Eos_EndsGenerationAndIsReported()
    {
        var result = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 400 })[0];
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Equal(2, result.TokenIds[^1]);
        Assert.Equal(fixture.Model.Tokenizer.Decode(result.TokenIds[..^1]), result.Text);   // EOS adds no text
    }

    [Fact]
    public void StreamedDeltas_ConcatenateToTheFinalText()
    {
        var pieces = new List<string>();
        var result = Generator.Generate([Bos], new GenerationOptions { MaxNewTokens = 25, StopStrings = ["zzz"] }, e => pieces.Add(e.TextDelta))[0];
        Assert.Equal(result.Text, string.Concat(pieces));
        Assert.True(pieces.Count(p => p.Length > 0) > 5, "text should arrive in many pieces, not at the end");
    }

    [Fact]
    public void InvalidOptions_AreReportedTogether()
    {
        var error = Assert.Throws<UserError>(() => Generator.Generate([Bos], new GenerationOptions { Temperature = -1, TopP = 0 }));
        Assert.Contains("temperature", error.Message, StringComparison.Ordinal);
        Assert.Contains("top_p", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OutOfVocabularyPrompt_IsAUserError() =>
        Assert.Throws<UserError>(() => Generator.Generate([[1, 99999]], new GenerationOptions()));

    /// <summary>stories260K has no pad token, and a stop id of -1 ("never stop", as the benches use) is outside the
    /// vocabulary: prompts of unequal length must still be left-padded with a valid id. Reference: each prompt
    /// generated alone (no padding), which the batched rows must equal.</summary>
    [Fact]
    public void UnequalPrompts_WithoutPadToken_AndAnOutOfVocabularyStopId_EqualEachPromptAlone()
    {
        using var model = Models.PretrainedModel.Load(TestPaths.Stories260K);
        Assert.Null(model.Tokenizer.PadId);
        var generator = new TextGenerator(model);
        var options = new GenerationOptions { MaxNewTokens = 8, StopTokenIds = [-1] };
        int[][] prompts = [[1, 65, 66, 67], [1, 70]];
        var batched = generator.Generate(prompts, options);
        for (int r = 0; r < prompts.Length; r++)
            Assert.Equal(generator.Generate([prompts[r]], options)[0].TokenIds, batched[r].TokenIds);
    }
}
