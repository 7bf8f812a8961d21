using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelLedger.Engine.Tokenization;

/// <summary>
/// Turns token ids back into text by running the <c>decoder</c> pipeline of an HF tokenizer.json (Replace,
/// ByteFallback, Fuse, Strip, ByteLevel, Metaspace, Sequence), with the same per-token semantics as the HF
/// tokenizers library. Immutable and thread-safe.
/// </summary>
internal sealed class TokenDecoder
{
    private readonly string[] _pieces;                                    // id → token text
    private readonly List<Func<List<string>, List<string>>> _steps = [];
    private bool _byteFallback, _stripsEnd;   // steps that join a token's text with the next's (see SplitsAfter)

    public TokenDecoder(string[] pieces, JsonNode? decoder, string path)
    {
        _pieces = pieces;
        if (decoder is JsonObject d) Add(d, path);
    }

    public string Decode(IEnumerable<int> ids)
    {
        var tokens = ids.Where(i => i >= 0 && i < _pieces.Length).Select(i => _pieces[i] ?? "").ToList();
        foreach (var step in _steps) tokens = step(tokens);
        return string.Concat(tokens);
    }

    /// <summary>Whether the decoded text of ids split after <paramref name="id"/> is the concatenation of the parts
    /// (the second decoded after <paramref name="id"/> as context): no byte-fallback run can continue across it and
    /// no step strips the text's end. A byte-level token may still end inside a character (the caller sees
    /// U+FFFD).</summary>
    public bool SplitsAfter(int id) =>
        !_stripsEnd && id >= 0 && id < _pieces.Length && !(_byteFallback && IsByte(_pieces[id] ?? ""));

    private static bool IsByte(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>';

    private void Add(JsonObject d, string path)
    {
        var type = d["type"]?.GetValue<string>();
        switch (type)
        {
            case "Sequence":
                foreach (var inner in (d["decoders"] as JsonArray ?? []).OfType<JsonObject>()) Add(inner, path);
                break;
            case "Replace":
                var pattern = d["pattern"]?["String"]?.GetValue<string>()
                    ?? throw new UserError("only string patterns are supported in a Replace decoder", file: path, field: "decoder");
                var content = d["content"]?.GetValue<string>() ?? "";
                _steps.Add(tokens => tokens.Select(t => t.Replace(pattern, content, StringComparison.Ordinal)).ToList());
                break;
            case "ByteFallback":
                _byteFallback = true;
                _steps.Add(ByteFallback);
                break;
            case "Fuse":
                _steps.Add(tokens => [string.Concat(tokens)]);
                break;
            case "Strip":
                var strip = d["content"]?.GetValue<string>() ?? " ";
                int start = d["start"]?.GetValue<int>() ?? 0, stop = d["stop"]?.GetValue<int>() ?? 0;
                _stripsEnd |= stop > 0;
                _steps.Add(tokens => tokens.Select(t => Strip(t, strip[0], start, stop)).ToList());
                break;
            case "ByteLevel":
                _steps.Add(tokens => [ByteLevel(string.Concat(tokens))]);
                break;
            case "Metaspace":
                var replacement = d["replacement"]?.GetValue<string>() ?? "▁";
                bool prefix = (d["prepend_scheme"]?.GetValue<string>() ?? (d["add_prefix_space"]?.GetValue<bool>() == false ? "never" : "always")) != "never";
                _steps.Add(tokens => tokens.Select((t, i) =>
                {
                    var s = t.Replace(replacement, " ", StringComparison.Ordinal);
                    return i == 0 && prefix && s.StartsWith(' ') ? s[1..] : s;
                }).ToList());
                break;
            default:
                throw new UserError($"unsupported decoder type '{type}'", file: path, field: "decoder",
                    hint: "supported: Sequence, Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace");
        }
    }

    /// <summary>Runs of &lt;0xNN&gt; tokens become the UTF-8 text of their bytes; invalid bytes each become U+FFFD.</summary>
    private static List<string> ByteFallback(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            var array = bytes.ToArray();
            try { result.Add(new UTF8Encoding(false, true).GetString(array)); }
            catch (DecoderFallbackException) { result.AddRange(array.Select(_ => "\uFFFD")); }
            bytes.Clear();
        }
        foreach (var t in tokens)
        {
            if (IsByte(t) && byte.TryParse(t.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
                bytes.Add(b);
            else { Flush(); result.Add(t); }
        }
        Flush();
        return result;
    }

    private static string Strip(string text, char c, int start, int stop)
    {
        int from = 0, to = text.Length;
        while (from < to && from < start && text[from] == c) from++;
        while (to > from && text.Length - to < stop && text[to - 1] == c) to--;
        return text[from..to];
    }

    /// <summary>GPT-2 byte-level: each character stands for one byte (printable bytes as themselves, the rest
    /// shifted to U+0100 and up); the bytes are UTF-8.</summary>
    private static string ByteLevel(string text)
    {
        var bytes = new List<byte>(text.Length);
        foreach (var ch in text)
            if (CharToByte.TryGetValue(ch, out var b)) bytes.Add(b);
            else bytes.AddRange(Encoding.UTF8.GetBytes(ch.ToString()));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static readonly Dictionary<char, byte> CharToByte = BuildByteLevelMap();

    private static Dictionary<char, byte> BuildByteLevelMap()
    {
        var map = new Dictionary<char, byte>();
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[printable ? (char)b : (char)(256 + shifted++)] = (byte)b;
        }
        return map;
    }
}
