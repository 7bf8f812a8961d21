using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Engine.Tokenization;

/// <summary>
/// An HF <c>tokenizer.json</c> (BPE byte-level or sentencepiece-style with byte fallback, normalizers, added tokens)
/// run by the HF tokenizers library (Tokenizers.DotNet), plus the special tokens named in tokenizer_config.json and
/// generation_config.json. Thread-safe: calls into the native tokenizer are serialised.
/// </summary>
public sealed class TextTokenizer : IDisposable
{
    private readonly Tokenizers.DotNet.Tokenizer _native;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _vocab;
    private readonly HashSet<int> _special;
    private readonly int _prefixSpecials, _suffixSpecials;
    private readonly TokenDecoder _decoder;

    public int VocabSize { get; }
    public int? BosId { get; }
    public IReadOnlyList<int> EosIds { get; }
    /// <summary>tokenizer_config.json's eos_token (HF's tokenizer.eos_token_id), else the first of <see cref="EosIds"/>.</summary>
    public int? EosTokenId { get; }
    public int? PadId { get; }
    /// <summary>tokenizer_config.json's chat_template text when it is a single string.</summary>
    public string? ChatTemplateText { get; }
    public string Directory { get; }

    private TextTokenizer(string directory, Tokenizers.DotNet.Tokenizer native, JsonObject tokenizerJson, JsonObject? config, JsonObject? generation)
    {
        Directory = directory;
        _native = native;
        _vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        if (tokenizerJson["model"]?["vocab"] is JsonObject vocab)
            foreach (var (token, id) in vocab) _vocab[token] = id!.GetValue<int>();
        _special = [];
        if (tokenizerJson["added_tokens"] is JsonArray added)
            foreach (var t in added.OfType<JsonObject>())
            {
                int id = t["id"]!.GetValue<int>();
                _vocab[t["content"]!.GetValue<string>()] = id;
                if (t["special"]?.GetValue<bool>() == true) _special.Add(id);
            }
        VocabSize = _vocab.Count == 0 ? 0 : _vocab.Values.Max() + 1;
        var pieces = new string[VocabSize];
        foreach (var (token, id) in _vocab) pieces[id] = token;
        _decoder = new TokenDecoder(pieces, tokenizerJson["decoder"], Path.Combine(directory, "tokenizer.json"));
        (_prefixSpecials, _suffixSpecials) = TemplateSpecials(tokenizerJson);
        BosId = IdOfConfigToken(config?["bos_token"]) ?? IntOf(generation?["bos_token_id"]);
        var eos = new List<int>();
        if (generation?["eos_token_id"] is JsonArray eosList) eos.AddRange(eosList.Select(e => e!.GetValue<int>()));
        else if (IntOf(generation?["eos_token_id"]) is int single) eos.Add(single);
        var configEos = IdOfConfigToken(config?["eos_token"]);
        if (configEos is int e && !eos.Contains(e)) eos.Add(e);
        EosIds = eos;
        EosTokenId = configEos ?? (eos.Count > 0 ? eos[0] : null);
        PadId = IdOfConfigToken(config?["pad_token"]);
        ChatTemplateText = config?["chat_template"] is JsonValue v && v.TryGetValue<string>(out var template) ? template : null;
    }

    public static TextTokenizer Load(string directory)
    {
        var path = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(path))
            throw new UserError("tokenizer.json not found", file: directory, hint: "the model directory needs an HF tokenizer.json");
        var tokenizerJson = ModelLedger.Data.JsonFile.RequireObject(path);
        Tokenizers.DotNet.Tokenizer native;
        try { native = new Tokenizers.DotNet.Tokenizer(path); }
        catch (Exception e) { throw new UserError($"the tokenizers library could not load it: {e.Message}", file: path); }
        return new TextTokenizer(directory, native, tokenizerJson,
            ModelLedger.Data.JsonFile.ReadObject(Path.Combine(directory, "tokenizer_config.json")), ModelLedger.Data.JsonFile.ReadObject(Path.Combine(directory, "generation_config.json")));
    }

    /// <summary>Token ids for text. With <paramref name="addSpecialTokens"/> the tokenizer's post-processor adds its
    /// template tokens (usually BOS); without, they are removed. Special tokens written in the text (e.g.
    /// &lt;|im_start|&gt;) are always recognised.</summary>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        uint[] ids;
        lock (_gate) ids = _native.Encode(text);
        int skipStart = addSpecialTokens ? 0 : Math.Min(_prefixSpecials, ids.Length);
        int skipEnd = addSpecialTokens ? 0 : Math.Min(_suffixSpecials, ids.Length - skipStart);
        return ids.Skip(skipStart).Take(ids.Length - skipStart - skipEnd).Select(i => (int)i).ToArray();
    }

    /// <summary>Text for ids, with special tokens left out (the tokenizer.json decoder pipeline, run in .NET: the
    /// native library's decode loses text on short sequences).</summary>
    public string Decode(IEnumerable<int> ids) => _decoder.Decode(ids.Where(i => !_special.Contains(i)));

    public int? IdOf(string token) => _vocab.TryGetValue(token, out int id) ? id : null;
    public bool IsSpecial(int id) => _special.Contains(id);

    /// <summary>Decoding ids split after <paramref name="id"/> (the rest with it as leading context) gives the same
    /// text as decoding them whole, unless the text before the split ends in an incomplete character.</summary>
    internal bool IsStreamBoundary(int id) => !_special.Contains(id) && _decoder.SplitsAfter(id);

    public void Dispose() => _native.Dispose();

    /// <summary>Counts of special tokens a TemplateProcessing post-processor puts before and after a single sequence.</summary>
    private static (int Prefix, int Suffix) TemplateSpecials(JsonObject tokenizerJson)
    {
        var post = tokenizerJson["post_processor"] as JsonObject;
        var processors = post?["type"]?.GetValue<string>() == "Sequence" && post["processors"] is JsonArray seq
            ? seq.OfType<JsonObject>() : post is null ? [] : [post];
        int prefix = 0, suffix = 0;
        foreach (var p in processors.Where(p => p["type"]?.GetValue<string>() == "TemplateProcessing"))
        {
            bool afterSequence = false;
            foreach (var piece in (p["single"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (piece.ContainsKey("Sequence")) afterSequence = true;
                else if (piece.ContainsKey("SpecialToken")) { if (afterSequence) suffix++; else prefix++; }
            }
        }
        return (prefix, suffix);
    }

    private int? IdOfConfigToken(JsonNode? node)
    {
        var text = node switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonObject o => o["content"]?.GetValue<string>(),
            _ => null,
        };
        return text is null ? null : IdOf(text);
    }

    private static int? IntOf(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
}
