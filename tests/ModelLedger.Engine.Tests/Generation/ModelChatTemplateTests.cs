using ModelLedger.Data.Chat;
using System.Text.Json.Nodes;
using ModelLedger.Engine.Generation.Templates;
using ModelLedger.Testing;

namespace ModelLedger.Engine.Generation;

/// <summary>Real chat templates (testdata/chat_templates, sources in SOURCES.md). Expected texts were written by
/// reading each template as transformers' apply_chat_template runs it (trim_blocks, lstrip_blocks, tools=None).</summary>
public sealed class ModelChatTemplateTests : IDisposable
{
    private static readonly ChatMessage[] WithSystem =
    [
        new(ChatRole.System, "Be brief."), new(ChatRole.User, "How are you"), new(ChatRole.Assistant, "I am fine!"), new(ChatRole.User, "你好"),
    ];
    private static readonly ChatMessage[] WithoutSystem = WithSystem[1..];
    private static readonly FixedClock March5 = new(new DateTimeOffset(2025, 3, 5, 10, 0, 0, TimeSpan.Zero));

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string, string, string?, string, string> Renderings => new()
    {
        // Llama 3.2: BOS, the system header always (knowledge cutoff + strftime_now date), the system text trimmed.
        { "llama-3.2-instruct.jinja", "<|eot_id|>", "<|begin_of_text|>",
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 05 Mar 2025\n\n" +
            "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHow are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" +
            "I am fine!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 05 Mar 2025\n\n" +
            "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHow are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" +
            "I am fine!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" },
        // Qwen2.5: ChatML, its default system prompt when none is given.
        { "qwen2.5-instruct.jinja", "<|im_end|>", null,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHow are you<|im_end|>\n<|im_start|>assistant\nI am fine!<|im_end|>\n" +
            "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n",
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHow are you" +
            "<|im_end|>\n<|im_start|>assistant\nI am fine!<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n" },
        // Mistral v0.3: the system text goes into the LAST user message; answers are " " + trimmed text + EOS.
        { "mistral-instruct-v0.3.jinja", "</s>", "<s>",
            "<s>[INST] How are you[/INST] I am fine!</s>[INST] Be brief.\n\n你好[/INST]",
            "<s>[INST] How are you[/INST] I am fine!</s>[INST] 你好[/INST]" },
        // SmolLM2: ChatML with its own default system line (no final period).
        { "smollm2-instruct.jinja", "<|im_end|>", "<|im_start|>",
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHow are you<|im_end|>\n<|im_start|>assistant\nI am fine!<|im_end|>\n" +
            "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n",
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHow are you" +
            "<|im_end|>\n<|im_start|>assistant\nI am fine!<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n" },
        // TinyLlama (Zephyr): trim_blocks drops the newline after each {% %}, the one after each {{ }} stays.
        { "tinyllama-chat-v1.0.jinja", "</s>", "<s>",
            "<|system|>\nBe brief.</s>\n<|user|>\nHow are you</s>\n<|assistant|>\nI am fine!</s>\n<|user|>\n你好</s>\n<|assistant|>\n",
            "<|user|>\nHow are you</s>\n<|assistant|>\nI am fine!</s>\n<|user|>\n你好</s>\n<|assistant|>\n" },
    };

    [Theory, MemberData(nameof(Renderings))]
    public void Render_EqualsApplyChatTemplate(string file, string eos, string? bos, string withSystem, string withoutSystem)
    {
        var template = Load(file, eos, bos);
        Assert.Equal(withSystem, template.Render(WithSystem, addGenerationPrompt: true));
        Assert.Equal(withoutSystem, template.Render(WithoutSystem, addGenerationPrompt: true));
    }

    [Theory, MemberData(nameof(Renderings))]
    public void Turns_JoinToTheWholeRendering(string file, string eos, string? bos, string withSystem, string withoutSystem)
    {
        _ = withSystem;
        var template = Load(file, eos, bos);
        var turns = template.RenderTurns(WithoutSystem);
        Assert.Equal(withoutSystem, string.Concat(turns.Select(t => t.Prompt + t.Answer)));
        Assert.Equal([true, false], turns.Select(t => t.Answered));
    }

    [Fact]
    public void Turns_SplitAtTheAnswer_Qwen()
    {
        var turns = Load("qwen2.5-instruct.jinja", "<|im_end|>", null).RenderTurns(WithoutSystem);
        Assert.Equal("I am fine!<|im_end|>\n", turns[0].Answer);
        Assert.Equal("<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n", turns[1].Prompt);
    }

    [Fact]
    public void Turns_GenerationPromptIsTheWholeRendering_WhenTheTemplateMovesTheSystemMessage()
    {
        var turn = Assert.Single(Load("mistral-instruct-v0.3.jinja", "</s>", "<s>").RenderTurns(WithSystem));
        Assert.Equal("<s>[INST] How are you[/INST] I am fine!</s>[INST] Be brief.\n\n你好[/INST]", turn.Prompt);
        Assert.False(turn.Answered);
    }

    [Fact]
    public void Turns_RefuseATrainingExample_WhenTheTemplateMovesTheSystemMessage()
    {
        // Rendered whole, this conversation loses its system message (it is no longer followed by a last user turn).
        ChatMessage[] answered = [.. WithSystem, new(ChatRole.Assistant, "很高兴认识你！")];
        var template = Load("mistral-instruct-v0.3.jinja", "</s>", "<s>");
        Assert.Equal("<s>[INST] How are you[/INST] I am fine!</s>[INST] 你好[/INST] 很高兴认识你！</s>", template.Render(answered, false));
        var error = Assert.Throws<UserError>(() => template.RenderTurns(answered));
        Assert.Contains("template: ", error.Hint!, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_RaiseException_IsAUserError()
    {
        var template = Load("mistral-instruct-v0.3.jinja", "</s>", "<s>");
        var error = Assert.Throws<UserError>(() => template.Render([new(ChatRole.User, "a"), new(ChatRole.User, "b")], true));
        Assert.Contains("must alternate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromTokenizerConfig_ListForm_UsesTheDefaultEntry()
    {
        var config = new JsonObject
        {
            ["chat_template"] = new JsonArray(
                new JsonObject { ["name"] = "tool_use", ["template"] = "tools" },
                new JsonObject { ["name"] = "default", ["template"] = "{{ messages[0].content | upper }}" }),
        };
        File.WriteAllText(_temp.File("tokenizer_config.json"), config.ToJsonString());
        var template = (TokenizerChatTemplate)ChatTemplate.FromTokenizerConfig(_temp.Path)!;
        Assert.Equal("HI", template.Render([new(ChatRole.User, "hi")], false));
    }

    [Fact]
    public void FromTokenizerConfig_UnsupportedStatement_NamesFileLineAndConstruct()
    {
        File.WriteAllText(_temp.File("tokenizer_config.json"),
            new JsonObject { ["chat_template"] = "{% for m in messages %}\n{% macro f() %}{% endmacro %}{% endfor %}" }.ToJsonString());
        var error = Assert.Throws<UserError>(() => ChatTemplate.FromTokenizerConfig(_temp.Path));
        Assert.EndsWith("tokenizer_config.json", error.File, StringComparison.Ordinal);
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("'macro'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromTokenizerConfig_NoTemplate_IsNull()
    {
        File.WriteAllText(_temp.File("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        Assert.Null(ChatTemplate.FromTokenizerConfig(_temp.Path));
    }

    private TokenizerChatTemplate Load(string file, string eos, string? bos)
    {
        var dir = _temp.Sub(Path.GetFileNameWithoutExtension(file) + Guid.NewGuid().ToString("N"));
        var config = new JsonObject
        {
            ["chat_template"] = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "testdata", "chat_templates", file)),
            ["eos_token"] = eos,
            ["bos_token"] = bos,
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
        return (TokenizerChatTemplate)ChatTemplate.FromTokenizerConfig(dir, March5)!;
    }
}
