namespace ModelLedger.Engine.Generation.Templates;

/// <summary>
/// LLaMA-Factory's text templates (src/llamafactory/data/template.py, register_template) for the model families we
/// load, under LF's names, with LF's defaults: user and system format "{{content}}", assistant format
/// "{{content}}" + EOS (just "{{content}}" with efficient_eos), no prefix, no default system, no stop words.
/// Tool, observation and multimodal formats are not carried: our datasets have no such turns.
/// </summary>
internal static class LlamaFactoryTemplates
{
    private static readonly ChatPiece Bos = new("", SpecialToken.Bos);
    private static readonly ChatPiece Eos = new("", SpecialToken.Eos);

    private const string ChatMlUser = "<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n";
    private const string ChatMlAssistant = "{{content}}<|im_end|>\n";
    private const string ChatMlSystem = "<|im_start|>system\n{{content}}<|im_end|>\n";

    public static readonly IReadOnlyDictionary<string, ChatTemplate> All = Build();

    private static Dictionary<string, ChatTemplate> Build()
    {
        var all = new Dictionary<string, ChatTemplate>(StringComparer.OrdinalIgnoreCase);
        void Add(string name, ChatPiece[]? user = null, ChatPiece[]? assistant = null, ChatPiece[]? system = null,
            ChatPiece[]? prefix = null, string defaultSystem = "", string[]? stop = null, bool replaceEos = false,
            bool efficientEos = false, bool systemInFirstUser = false) =>
            all.Add(name, new SlotChatTemplate(name, user ?? [Text("{{content}}")],
                assistant ?? (efficientEos ? [Text("{{content}}")] : [Text("{{content}}"), Eos]),
                system ?? [Text("{{content}}")], prefix ?? [], defaultSystem, stop ?? [], replaceEos, efficientEos,
                    systemInFirstUser));

        Add("alpaca", user: [Text("### Instruction:\n{{content}}\n\n### Response:\n")],
            assistant: [Text("{{content}}"), Eos, Text("\n\n")],
            defaultSystem: "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n");
        Add("chatml", user: [Text(ChatMlUser)], assistant: [Text(ChatMlAssistant)], system: [Text(ChatMlSystem)],
            stop: ["<|im_end|>", "<|im_start|>"], replaceEos: true);
        Add("cpm", user: [Text("<用户>{{content}}<AI>")], prefix: [Bos]);
        Add("deepseek", user: [Text("User: {{content}}\n\nAssistant:")], system: [Text("{{content}}\n\n")],
            prefix: [Bos]);
        Add("default", user: [Text("Human: {{content}}"), Eos, Text("\nAssistant:")], assistant: [Text("{{content}}"),
            Eos, Text("\n")],
            system: [Text("System: {{content}}"), Eos, Text("\n")]);
        Add("empty", assistant: [Text("{{content}}")]);
        Add("gemma", user: [Text("<start_of_turn>user\n{{content}}<end_of_turn>\n<start_of_turn>model\n")],
            assistant: [Text("{{content}}<end_of_turn>\n")], system: [Text("{{content}}\n\n")], prefix: [Bos],
            stop: ["<end_of_turn>"], replaceEos: true, systemInFirstUser: true);
        Add("llama2", user: [Bos, Text("[INST] {{content}} [/INST]")],
            system: [Text("<<SYS>>\n{{content}}\n<</SYS>>\n\n")],
            systemInFirstUser: true);
        Add("llama2_zh", user: [Bos, Text("[INST] {{content}} [/INST]")],
            system: [Text("<<SYS>>\n{{content}}\n<</SYS>>\n\n")],
            defaultSystem: "You are a helpful assistant. 你是一个乐于助人的助手。", systemInFirstUser: true);
        Add("llama3",
            user: [Text("<|start_header_id|>user<|end_header_id|>\n\n{{content}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")],
            assistant: [Text("{{content}}<|eot_id|>")],
                system: [Text("<|start_header_id|>system<|end_header_id|>\n\n{{content}}<|eot_id|>")],
            prefix: [Bos], stop: ["<|eot_id|>", "<|eom_id|>"], replaceEos: true);
        Add("mistral", user: [Text("[INST] {{content}}[/INST]")], assistant: [Text(" {{content}}"), Eos],
            system: [Text("{{content}}\n\n")],
            prefix: [Bos], systemInFirstUser: true);
        Add("olmo", user: [Text("<|user|>\n{{content}}<|assistant|>\n")], prefix: [Eos]);
        Add("openchat", user: [Text("GPT4 Correct User: {{content}}"), Eos, Text("GPT4 Correct Assistant:")],
            prefix: [Bos]);
        Add("phi", user: [Text("<|user|>\n{{content}}<|end|>\n<|assistant|>\n")],
            assistant: [Text("{{content}}<|end|>\n")],
            system: [Text("<|system|>\n{{content}}<|end|>\n")], stop: ["<|end|>"], replaceEos: true);
        Add("qwen", user: [Text(ChatMlUser)], assistant: [Text(ChatMlAssistant)], system: [Text(ChatMlSystem)],
            defaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
                stop: ["<|im_end|>"], replaceEos: true);
        Add("smollm", user: [Text(ChatMlUser)], assistant: [Text(ChatMlAssistant)], system: [Text(ChatMlSystem)],
            stop: ["<|im_end|>"]);
        Add("smollm2", user: [Text(ChatMlUser)], assistant: [Text(ChatMlAssistant)], system: [Text(ChatMlSystem)],
            stop: ["<|im_end|>"],
            defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face.");
        Add("solar", user: [Text("### User:\n{{content}}\n\n### Assistant:\n")],
            system: [Text("### System:\n{{content}}\n\n")],
            efficientEos: true);
        Add("vicuna", user: [Text("USER: {{content}} ASSISTANT:")],
            defaultSystem: "A chat between a curious user and an artificial " +
            "intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.");
        Add("yi", user: [Text(ChatMlUser)], assistant: [Text(ChatMlAssistant)], system: [Text(ChatMlSystem)],
            stop: ["<|im_end|>"]);
        Add("zephyr", user: [Text("<|user|>\n{{content}}"), Eos, Text("<|assistant|>\n")],
            system: [Text("<|system|>\n{{content}}"), Eos],
            defaultSystem: "You are Zephyr, a helpful assistant.");
        all.Add("plain", ((SlotChatTemplate)all["empty"]).Alias("plain"));
        return all;
    }

    private static ChatPiece Text(string text) => new(text);
}
