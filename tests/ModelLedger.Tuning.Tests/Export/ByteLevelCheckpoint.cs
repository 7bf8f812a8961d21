using System.Text;
using System.Text.Json.Nodes;
using ModelLedger.Testing;

namespace ModelLedger.Tuning.Export;

/// <summary>
/// A test checkpoint with a Llama 3-style byte-level BPE tokenizer: TinyStories-656K's weights (vocabulary 2048) with a
/// tokenizer.json written here: &lt;|pad|&gt;, &lt;|begin_of_text|&gt;, &lt;|end_of_text|&gt; at ids 0-2, the 256
/// byte tokens in GPT-2's byte-to-unicode spelling, then merges learned greedily (most frequent pair first) from a
/// few sentences; Llama 3's Split regex then ByteLevel without its own regex; a post-processor adding BOS.
/// </summary>
internal static class ByteLevelCheckpoint
{
    private const string Corpus = "Once upon a time, Tom and Lily were playing in the park. They saw a big red ball. " +
        "Tom said, \"Let's play with the ball!\" Lily was happy and they played all day until the sun went down. They counted 1234 and 1234, then 12345 and 12345.";
    private const string Llama3Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static string Create(string root, int merges = 120)
    {
        var dir = Directory.CreateDirectory(Path.Combine(root, "byte-level")).FullName;
        foreach (var file in new[] { "config.json", "model.safetensors" })
            File.Copy(Path.Combine(TestPaths.TinyStories, file), Path.Combine(dir, file));
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), TokenizerJson(merges).ToJsonString());
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"),
            """{"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "pad_token": "<|pad|>"}""");
        return dir;
    }

    /// <summary>GPT-2's bytes_to_unicode: printable bytes keep their character, the others map to 256, 257, ….</summary>
    public static string[] ByteChars()
    {
        var chars = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            chars[b] = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 ? ((char)b).ToString() : ((char)next++).ToString();
        return chars;
    }

    private static JsonObject TokenizerJson(int mergeCount)
    {
        var bytes = ByteChars();
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[bytes[b]] = 3 + b;
        // words as GPT-2 spells them: a leading space becomes part of the next word (Ġ)
        var words = Corpus.Split(' ').Select((w, i) => (i == 0 ? w : " " + w)).Select(w => Encoding.UTF8.GetBytes(w).Select(b => bytes[b]).ToList()).ToList();
        var merges = new JsonArray();
        for (int m = 0; m < mergeCount; m++)
        {
            var best = words.SelectMany(w => w.Zip(w.Skip(1))).GroupBy(p => p).OrderByDescending(g => g.Count())
                .ThenBy(g => g.Key.First + " " + g.Key.Second, StringComparer.Ordinal).FirstOrDefault();
            if (best is null || best.Count() < 2) break;
            var (a, b) = best.Key;
            merges.Add(new JsonArray(a, b));
            vocab[a + b] = 259 + m;
            foreach (var w in words)
                for (int i = 0; i < w.Count - 1; i++)
                    if (w[i] == a && w[i + 1] == b) { w[i] = a + b; w.RemoveAt(i + 1); }
        }
        JsonObject Added(int id, string content) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
            ["normalized"] = false, ["special"] = true,
        };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(Added(0, "<|pad|>"), Added(1, "<|begin_of_text|>"), Added(2, "<|end_of_text|>")),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Llama3Split }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } }),
                ["special_tokens"] = new JsonObject
                {
                    ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<|begin_of_text|>") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
    }
}
