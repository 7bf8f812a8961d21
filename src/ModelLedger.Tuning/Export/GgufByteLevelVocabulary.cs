using System.Text.Json.Nodes;
using ModelLedger.Engine.Models;

namespace ModelLedger.Tuning.Export;

/// <summary>
/// A byte-level BPE vocabulary (GPT-2 style: Llama 3, Qwen2, SmolLM) as llama.cpp's "gpt2" tokenizer: tokens by id
/// in their byte-to-unicode spelling, token types (normal, control for special added tokens, user-defined for other
/// added tokens, unused for ids no token claims), the merges in rank order, and tokenizer.ggml.pre naming the
/// pre-tokenizer llama.cpp must run, recognised from tokenizer.json's pre_tokenizer.
/// </summary>
internal static class GgufByteLevelVocabulary
{
    // The Split regexes of Llama 3 and Qwen2 tokenizer.json files (they differ only in how digits group).
    private const string Llama3Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>True when tokenizer.json is a byte-level BPE (a ByteLevel pre-tokenizer, no byte fallback).</summary>
    public static bool Matches(JsonObject json) =>
        json["model"]?["type"]?.GetValue<string>() == "BPE"
            && json["model"]?["byte_fallback"]?.GetValue<bool>() != true &&
        PreTokenizers(json["pre_tokenizer"]).Any(p => Type(p) == "ByteLevel");

    public static void Add(GgufWriter gguf, PretrainedModel model, JsonObject json, string path)
    {
        var pre = PreName(json, path);
        int size = model.Config.VocabSize;
        var tokens = Enumerable.Range(0, size).Select(i => $"[PAD{i}]").ToArray();
        var types = Enumerable.Repeat(5, size).ToArray();  // 5 = unused, until a real token claims the id
        foreach (var (token, id) in json["model"]!["vocab"]!.AsObject())
        {
            int i = id!.GetValue<int>();
            if (i < size) (tokens[i], types[i]) = (token, 1);
        }
        foreach (var added in json["added_tokens"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            int i = added["id"]!.GetValue<int>();
            if (i < size) (tokens[i], types[i]) = (added["content"]!.GetValue<string>(),
                added["special"]?.GetValue<bool>() == true ? 3 : 4);
        }
        var merges = json["model"]!["merges"]!.AsArray()
            .Select(m => m is JsonArray pair
                ? pair[0]!.GetValue<string>() + " " + pair[1]!.GetValue<string>() : m!.GetValue<string>())
            .ToArray();
        gguf.Add("tokenizer.ggml.model", "gpt2");
        gguf.Add("tokenizer.ggml.pre", pre);
        gguf.Add("tokenizer.ggml.tokens", tokens);
        gguf.Add("tokenizer.ggml.token_type", types);
        gguf.Add("tokenizer.ggml.merges", merges);
        var tokenizer = model.Tokenizer;
        if (tokenizer.BosId is int bos) gguf.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        if (tokenizer.EosTokenId is int eos) gguf.Add("tokenizer.ggml.eos_token_id", (uint)eos);
        if (tokenizer.PadId is int pad) gguf.Add("tokenizer.ggml.padding_token_id", (uint)pad);
        gguf.Add("tokenizer.ggml.add_bos_token", AddsBos(json));
        gguf.Add("tokenizer.ggml.add_eos_token", false);
    }

    /// <summary>llama.cpp's pre-tokenizer name: llama-bpe (Llama 3 split), qwen2 (Qwen2 split), smollm (single digits,
    /// then GPT-2's regex), gpt2 (GPT-2's regex alone).</summary>
    private static string PreName(JsonObject json, string path)
    {
        var steps = PreTokenizers(json["pre_tokenizer"]).ToList();
        var split = steps.Where(p => Type(p) == "Split").Select(p
            => p["pattern"]?["Regex"]?.GetValue<string>()).ToList();
        bool gpt2Regex = steps.Any(p => Type(p) == "ByteLevel" && p["use_regex"]?.GetValue<bool>() != false);
        bool singleDigits = steps.Any(p => Type(p) == "Digits" && p["individual_digits"]?.GetValue<bool>() == true);
        return (split, gpt2Regex, singleDigits) switch
        {
            ([Llama3Split], false, false) => "llama-bpe",
            ([Qwen2Split], false, false) => "qwen2",
            ([], true, true) => "smollm",
            ([], true, false) => "gpt2",
            _ => throw new UserError("GGUF export: this byte-level pre-tokenizer has no llama.cpp counterpart we recognise", file: path,
                field: "pre_tokenizer",
                    hint: "supported: Llama 3's and Qwen2's Split regex, SmolLM's digits + ByteLevel, GPT-2's ByteLevel"),
        };
    }

    /// <summary>Whether the post-processor puts a special token before the sequence (Llama 3's BOS).</summary>
    private static bool AddsBos(JsonObject json) => PreTokenizers(json["post_processor"], "processors")
        .Where(p => Type(p) == "TemplateProcessing")
        .Any(p => (p["single"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault()?.ContainsKey("SpecialToken") == true);

    private static IEnumerable<JsonObject> PreTokenizers(JsonNode? node, string list = "pretokenizers") => node switch
    {
        JsonObject o when Type(o) == "Sequence" => (o[list] as JsonArray ?? []).OfType<JsonObject>(),
        JsonObject o => [o],
        _ => [],
    };

    private static string? Type(JsonObject o) => o["type"]?.GetValue<string>();
}
