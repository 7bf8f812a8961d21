using ModelLedger.Testing;

namespace ModelLedger.Engine.Tokenization;

public sealed class TextTokenizerTests
{
    public static TheoryData<string> Models => new() { TestPaths.TinyStories, TestPaths.Stories260K };

    [Theory]
    [MemberData(nameof(Models))]
    public void EncodeDecode_RoundTripsText(string model)
    {
        using var tokenizer = TextTokenizer.Load(model);
        foreach (var text in new[] { "Once upon a time, there was a little girl.", "She said: \"Hello!\" 123 times.", "a  b\nc" })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void Encode_AddsBosOnlyWhenAsked()
    {
        using var tokenizer = TextTokenizer.Load(TestPaths.TinyStories);
        var plain = tokenizer.Encode("Once upon a time");
        var withBos = tokenizer.Encode("Once upon a time", addSpecialTokens: true);
        Assert.Equal([1, .. plain], withBos);
        Assert.Equal([1], tokenizer.Encode("", addSpecialTokens: true));
        Assert.Equal([80, 147, 201], plain[..3]);   // "▁" "On" "ce▁", as the HF tokenizer splits it
    }

    [Fact]
    public void SpecialTokens_ComeFromTheConfigs()
    {
        using var tokenizer = TextTokenizer.Load(TestPaths.TinyStories);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal([2], tokenizer.EosIds);
        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal(2048, tokenizer.VocabSize);
        Assert.True(tokenizer.IsSpecial(2));
        Assert.Equal(2, tokenizer.Encode("<|end_story|>").Single());
        Assert.Equal("Once ", tokenizer.Decode([1, 147, 201, 2]));   // "On" "ce▁": this vocabulary puts ▁ after words
    }

    [Fact]
    public void ByteFallback_RoundTripsNonAscii()
    {
        using var tokenizer = TextTokenizer.Load(TestPaths.Stories260K);
        const string text = "Ünïcode 日本";
        var ids = tokenizer.Encode(text);
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void Load_MissingTokenizer_IsAUserError()
    {
        var error = Assert.Throws<UserError>(() => TextTokenizer.Load(Path.GetTempPath()));
        Assert.Contains("tokenizer.json", error.Message, StringComparison.Ordinal);
    }
}
