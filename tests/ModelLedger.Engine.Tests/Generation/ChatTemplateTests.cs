using ModelLedger.Data.Chat;
using ModelLedger.Testing;

namespace ModelLedger.Engine.Generation;

/// <summary>LLaMA-Factory's text templates. Vectors marked "LF test" are LF's tests/data/test_template.py; the others
/// were worked out by reading LF's register_template call for that name (src/llamafactory/data/template.py).</summary>
public sealed class ChatTemplateTests
{
    // LF's MESSAGES in tests/data/test_template.py.
    private static readonly ChatMessage[] LfMessages =
    [
        new(ChatRole.User, "How are you"), new(ChatRole.Assistant, "I am fine!"), new(ChatRole.User, "你好"),
        new(ChatRole.Assistant, "很高兴认识你！"),
    ];
    private static readonly ChatMessage[] WithSystem = [new(ChatRole.System, "Be brief."), .. LfMessages];

    [Fact]
    public void Llama3_EncodeMultiturn_LfTest()
    {
        var turns = ChatTemplate.Named("llama3").RenderTurns(LfMessages, "<|begin_of_text|>", "<|end_of_text|>");
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHow are you<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n", turns[0].Prompt);
        Assert.Equal("I am fine!<|eot_id|>", turns[0].Answer);
        Assert.Equal("<|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            turns[1].Prompt);
        Assert.Equal("很高兴认识你！<|eot_id|>", turns[1].Answer);
    }

    [Theory]
    // LF test test_qwen2_5_template: the default system prompt of LF's qwen template.
    [InlineData("qwen", "", "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
        "<|im_start|>user\nHow are you<|im_end|>\n<|im_start|>assistant\nI am fine!<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n" +
        "<|im_start|>assistant\n", "很高兴认识你！<|im_end|>\n")]
    // LF test test_gemma_template.
    [InlineData("gemma", "<bos>", "<bos><start_of_turn>user\nHow are you<end_of_turn>\n<start_of_turn>model\nI am fine!<end_of_turn>\n" +
        "<start_of_turn>user\n你好<end_of_turn>\n<start_of_turn>model\n", "很高兴认识你！<end_of_turn>\n")]
    // LF test test_encode_oneturn (llama3).
    [InlineData("llama3", "<|begin_of_text|>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHow are you<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nI am fine!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n", "很高兴认识你！<|eot_id|>")]
    public void EncodeOneturn_LfTests(string name, string bos, string prompt, string answer)
    {
        var turns = ChatTemplate.Named(name).RenderTurns(LfMessages, bos, "</s>");
        Assert.Equal(prompt, string.Concat(turns.Select((t, i) => t.Prompt + (i < turns.Count - 1 ? t.Answer : ""))));
        Assert.Equal(answer, turns[^1].Answer);
    }

    /// <summary>Worked out from each register_template call: (prompt 1 | answer 1 | prompt 2 | answer 2) with system
    /// "Be brief.", BOS written &lt;s&gt; and EOS &lt;/s&gt;.</summary>
    [Theory]
    [InlineData("empty", "Be brief.How are you|I am fine!|你好|很高兴认识你！")]
    [InlineData("plain", "Be brief.How are you|I am fine!|你好|很高兴认识你！")]
    [InlineData("default", "System: Be brief.</s>\nHuman: How are you</s>\nAssistant:|I am fine!</s>\n|Human: 你好</s>\nAssistant:|很高兴认识你！</s>\n")]
    [InlineData("alpaca", "Be brief.### Instruction:\nHow are you\n\n### Response:\n|I am fine!</s>\n\n|### Instruction:\n你好\n\n### Response:\n|很高兴认识你！</s>\n\n")]
    [InlineData("vicuna", "Be brief.USER: How are you ASSISTANT:|I am fine!</s>|USER: 你好 ASSISTANT:|很高兴认识你！</s>")]
    [InlineData("llama2", "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHow are you [/INST]|I am fine!</s>|<s>[INST] 你好 [/INST]|很高兴认识你！</s>")]
    [InlineData("llama2_zh", "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHow are you [/INST]|I am fine!</s>|<s>[INST] 你好 [/INST]|很高兴认识你！</s>")]
    [InlineData("llama3", "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" +
        "How are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n|I am fine!<|eot_id|>|<|start_header_id|>user<|end_header_id|>" +
        "\n\n你好<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n|很高兴认识你！<|eot_id|>")]
    [InlineData("mistral", "<s>[INST] Be brief.\n\nHow are you[/INST]| I am fine!</s>|[INST] 你好[/INST]| 很高兴认识你！</s>")]
    [InlineData("qwen", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHow are you<|im_end|>\n<|im_start|>assistant\n|" +
        "I am fine!<|im_end|>\n|<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n|很高兴认识你！<|im_end|>\n")]
    [InlineData("chatml", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHow are you<|im_end|>\n<|im_start|>assistant\n|" +
        "I am fine!<|im_end|>\n|<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n|很高兴认识你！<|im_end|>\n")]
    [InlineData("yi", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHow are you<|im_end|>\n<|im_start|>assistant\n|" +
        "I am fine!<|im_end|>\n|<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n|很高兴认识你！<|im_end|>\n")]
    [InlineData("zephyr", "<|system|>\nBe brief.</s><|user|>\nHow are you</s><|assistant|>\n|I am fine!</s>|<|user|>\n你好</s><|assistant|>\n|很高兴认识你！</s>")]
    [InlineData("phi", "<|system|>\nBe brief.<|end|>\n<|user|>\nHow are you<|end|>\n<|assistant|>\n|I am fine!<|end|>\n|" +
        "<|user|>\n你好<|end|>\n<|assistant|>\n|很高兴认识你！<|end|>\n")]
    [InlineData("gemma", "<s><start_of_turn>user\nBe brief.\n\nHow are you<end_of_turn>\n<start_of_turn>model\n|I am fine!<end_of_turn>\n|" +
        "<start_of_turn>user\n你好<end_of_turn>\n<start_of_turn>model\n|很高兴认识你！<end_of_turn>\n")]
    [InlineData("deepseek", "<s>Be brief.\n\nUser: How are you\n\nAssistant:|I am fine!</s>|User: 你好\n\nAssistant:|很高兴认识你！</s>")]
    [InlineData("cpm", "<s>Be brief.<用户>How are you<AI>|I am fine!</s>|<用户>你好<AI>|很高兴认识你！</s>")]
    [InlineData("openchat", "<s>Be brief.GPT4 Correct User: How are you</s>GPT4 Correct Assistant:|I am fine!</s>|" +
        "GPT4 Correct User: 你好</s>GPT4 Correct Assistant:|很高兴认识你！</s>")]
    [InlineData("solar", "### System:\nBe brief.\n\n### User:\nHow are you\n\n### Assistant:\n|I am fine!|### User:\n你好\n\n### Assistant:\n|很高兴认识你！")]
    [InlineData("olmo", "</s>Be brief.<|user|>\nHow are you<|assistant|>\n|I am fine!</s>|<|user|>\n你好<|assistant|>\n|很高兴认识你！</s>")]
    public void RenderTurns_WritesLlamaFactoryFormat(string name, string expected)
    {
        var turns = ChatTemplate.Named(name).RenderTurns(WithSystem);
        Assert.Equal(expected, string.Join("|", turns.Select(t => t.Prompt + "|" + t.Answer)));
    }

    [Theory]
    [InlineData("vicuna", "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, " +
        "detailed, and polite answers to the user's questions.USER: How are you ASSISTANT:")]
    [InlineData("alpaca", "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nHow are you\n\n### Response:\n")]
    [InlineData("llama2_zh", "<s>[INST] <<SYS>>\nYou are a helpful assistant. 你是一个乐于助人的助手。\n<</SYS>>\n\nHow are you [/INST]")]
    [InlineData("zephyr", "<|system|>\nYou are Zephyr, a helpful assistant.</s><|user|>\nHow are you</s><|assistant|>\n")]
    public void RenderTurns_UsesTheDefaultSystem_WhenNoneIsGiven(string name, string firstPrompt) =>
        Assert.Equal(firstPrompt, ChatTemplate.Named(name).RenderTurns(LfMessages)[0].Prompt);

    [Fact]
    public void EncodeTurns_WritesBosAndEosOnlyWhereTheTemplateDoes()
    {
        using var tokenizer = Tokenization.TextTokenizer.Load(TestPaths.TinyStories);
        var alpaca = ChatTemplate.Named("alpaca").EncodeTurns(tokenizer, LfMessages);
        Assert.NotEqual(1, alpaca[0].Prompt[0]);  // no prefix in LF's alpaca: no BOS
        Assert.Equal([.. tokenizer.Encode("I am fine!"), 2, .. tokenizer.Encode("\n\n")], alpaca[0].Answer);
        var mistral = ChatTemplate.Named("mistral").EncodeTurns(tokenizer, LfMessages);
        Assert.Equal(1, mistral[0].Prompt[0]);
        Assert.NotEqual(1, mistral[1].Prompt[0]);
        Assert.Equal(2, mistral[1].Answer[^1]);
    }

    [Fact]
    public void StopWords_MissingFromTheVocabulary_BecomeStopStrings()
    {
        using var tokenizer = Tokenization.TextTokenizer.Load(TestPaths.TinyStories);
        var chatml = ChatTemplate.Named("chatml");
        Assert.Equal(["<|im_end|>", "<|im_start|>"], chatml.StopStrings(tokenizer));
        Assert.Equal(tokenizer.EosIds, chatml.StopTokenIds(tokenizer));
        var error = Assert.Throws<UserError>(() => chatml.EosId(tokenizer));
        Assert.Contains("<|im_end|>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Named_UnknownTemplate_ListsTheKnownOnes()
    {
        var error = Assert.Throws<UserError>(() => ChatTemplate.Named("vicuna2"));
        Assert.Contains("zephyr", error.Hint!, StringComparison.Ordinal);
    }

    [Fact]
    public void Detect_WithoutChatTemplate_IsEmpty()
    {
        using var tokenizer = Tokenization.TextTokenizer.Load(TestPaths.TinyStories);
        Assert.Equal("empty", ChatTemplate.Detect(tokenizer).Name);
    }

    [Fact]
    public void Turns_TwoUserMessagesInARow_IsAUserError() =>
        Assert.Throws<UserError>(() => ChatTemplate.Named("qwen").RenderTurns([new(ChatRole.User, "a"), new(ChatRole.User, "b")]));
}
