using ModelLedger.Data.Chat;
using ModelLedger.Testing;

namespace ModelLedger.Engine.Generation;

public sealed class ChatTemplateTests
{
    private static readonly ChatMessage[] Conversation =
    [
        new(ChatRole.System, "Be brief."), new(ChatRole.User, "Hi"), new(ChatRole.Assistant, "Hello."), new(ChatRole.User, "Bye"),
    ];

    [Theory]
    [InlineData("llama3", "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n|Hello.<|eot_id|>|<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n|")]
    [InlineData("chatml", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n|Hello.<|im_end|>\n|<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n|")]
    [InlineData("mistral", "[INST] Be brief.\n\nHi [/INST]|Hello.|[INST] Bye [/INST]|")]
    [InlineData("alpaca", "Be brief.\n\n### Instruction:\nHi\n\n### Response:\n|Hello.|### Instruction:\nBye\n\n### Response:\n|")]
    [InlineData("plain", "Be brief.\nHi|Hello.|Bye|")]
    public void RenderTurns_WritesTheFormat(string name, string expected)
    {
        var turns = ChatTemplate.Named(name).RenderTurns(Conversation);
        Assert.Equal(expected, string.Join("|", turns.Select(t => t.Prompt + "|" + t.Answer)));
    }

    [Fact]
    public void EncodeTurns_AddsBosFirstAndEosAfterAnswers()
    {
        using var tokenizer = Tokenization.TextTokenizer.Load(TestPaths.TinyStories);
        var turns = ChatTemplate.Named("alpaca").EncodeTurns(tokenizer, Conversation);
        Assert.Equal(1, turns[0].Prompt[0]);
        Assert.NotEqual(1, turns[1].Prompt[0]);
        Assert.Equal(2, turns[0].Answer[^1]);
        Assert.Empty(turns[1].Answer);
    }

    [Fact]
    public void Named_UnknownTemplate_ListsTheKnownOnes()
    {
        var error = Assert.Throws<UserError>(() => ChatTemplate.Named("vicuna2"));
        Assert.Contains("llama3", error.Hint!, StringComparison.Ordinal);
    }

    [Fact]
    public void Qwen_AddsItsDefaultSystemPrompt() =>
        Assert.StartsWith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>",
            ChatTemplate.Named("qwen").RenderTurns([new(ChatRole.User, "x")])[0].Prompt, StringComparison.Ordinal);
}
