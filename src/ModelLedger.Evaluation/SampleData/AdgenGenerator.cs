using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Evaluation.SampleData;

/// <summary>
/// A synthetic advertising-copy dataset in AdGen's shape (AdGen itself cannot be downloaded here): an attribute list
/// such as <c>type#dress*color#blue*style#casual*material#cotton*brand#Lumen</c> maps to 1-3 sentences of ad copy.
/// Ten product types, eight attribute kinds with synonyms, and four brands each writing in its own voice, so a model
/// must read the attributes (and the brand) to write the copy. Deterministic for a seed. Written as a LLaMA-Factory
/// dataset folder: adgen_train.json / adgen_test.json (columns content → summary) and dataset_info.json, which also
/// defines adgen_corpus (the train copy as raw text, for stage: pt).
/// </summary>
public static class AdgenGenerator
{
    private static readonly string[] Types = ["dress", "shirt", "jacket", "skirt", "trousers", "sweater", "coat", "shoes", "bag", "hat"];
    private static readonly Dictionary<string, string[]> Values = new()
    {
        ["color"] = ["blue", "red", "black", "white", "green", "pink", "grey", "yellow"],
        ["style"] = ["casual", "elegant", "sporty", "classic", "romantic", "street"],
        ["material"] = ["cotton", "linen", "wool", "silk", "denim", "leather"],
        ["pattern"] = ["striped", "plain", "floral", "checked", "dotted"],
        ["fit"] = ["loose", "slim", "regular", "relaxed"],
        ["season"] = ["summer", "winter", "spring", "autumn"],
    };
    private static readonly Dictionary<string, string> StyleWords = new()
    {
        ["casual"] = "easy everyday", ["elegant"] = "refined", ["sporty"] = "active", ["classic"] = "timeless", ["romantic"] = "soft and dreamy", ["street"] = "bold city",
    };
    private static readonly Dictionary<string, string> MaterialWords = new()
    {
        ["cotton"] = "soft cotton", ["linen"] = "breathable linen", ["wool"] = "warm wool", ["silk"] = "smooth silk", ["denim"] = "sturdy denim", ["leather"] = "supple leather",
    };
    private static readonly Dictionary<string, string> SeasonWords = new()
    {
        ["summer"] = "hot summer days", ["winter"] = "cold winter days", ["spring"] = "fresh spring mornings", ["autumn"] = "cool autumn walks",
    };

    /// <summary>Brand → sentence templates ({type}, {color}, {style}, {material}, {pattern}, {fit}, {season}).</summary>
    private static readonly Dictionary<string, string[][]> Voices = new()
    {
        ["Lumen"] = [
            ["This {color} {type} brings a {style} look to your day.", "Meet the {color} {type}: {style} and easy to love."],
            ["It is made of {material} with a {pattern} finish.", "Cut from {material}, it feels light all day."],
            ["Perfect for {season}.", "Wear it on {season} and smile."],
        ],
        ["Vela"] = [
            ["An elegant {color} {type} in {material}.", "Quiet luxury: a {color} {type} of {material}."],
            ["The {fit} fit and {pattern} detail speak softly.", "A {fit} silhouette with a {pattern} touch."],
            ["Made for {season}.", "Your choice for {season}."],
        ],
        ["Kite"] = [
            ["Go further in a {color} {type}!", "Move more with this {color} {type}!"],
            ["{material}, {fit} fit, ready for action.", "A {fit} fit in {material} that keeps up with you."],
            ["Built for {season}!", "Own {season} in it!"],
        ],
        ["Moss"] = [
            ["{color} {type}.", "A {color} {type}, simply."],
            ["{material}. {pattern}. {fit} fit.", "{pattern} {material}, {fit} fit."],
            ["For {season}.", "Good for {season}."],
        ],
    };

    public static (int Train, int Test) Write(string directory, int train, int test, int seed)
    {
        if (train < 1 || test < 0) throw new UserError($"need at least 1 training example (got --train {train}, --test {test})");
        Directory.CreateDirectory(directory);
        var rng = new Random(seed);
        var all = Enumerable.Range(0, train + test).Select(_ => Example(rng)).ToList();
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(directory, "adgen_train.json"), JsonSerializer.Serialize(all.Take(train).Select(e => new { content = e.Content, summary = e.Summary }), options));
        File.WriteAllText(Path.Combine(directory, "adgen_test.json"), JsonSerializer.Serialize(all.Skip(train).Select(e => new { content = e.Content, summary = e.Summary }), options));
        var columns = new JsonObject { ["prompt"] = "content", ["response"] = "summary" };
        var info = new JsonObject
        {
            ["adgen_train"] = new JsonObject { ["file_name"] = "adgen_train.json", ["columns"] = columns.DeepClone() },
            ["adgen_test"] = new JsonObject { ["file_name"] = "adgen_test.json", ["columns"] = columns.DeepClone() },
            ["adgen_corpus"] = new JsonObject { ["file_name"] = "adgen_train.json", ["columns"] = new JsonObject { ["prompt"] = "summary" } },
        };
        File.WriteAllText(Path.Combine(directory, "dataset_info.json"), info.ToJsonString(options));
        return (train, test);
    }

    private static (string Content, string Summary) Example(Random rng)
    {
        var type = Types[rng.Next(Types.Length)];
        var attrs = Values.ToDictionary(kv => kv.Key, kv => kv.Value[rng.Next(kv.Value.Length)]);
        var brand = Voices.Keys.ElementAt(rng.Next(Voices.Count));
        // color, style and material are always given (every voice's first sentence may use them); the rest sometimes
        var shown = new List<string> { "color", "style", "material" };
        shown.AddRange(new[] { "pattern", "fit", "season" }.Where(_ => rng.NextDouble() < 0.75));
        var content = string.Join("*", new[] { $"type#{type}" }.Concat(shown.Select(k => $"{k}#{attrs[k]}")).Append($"brand#{brand}"));
        string Fill(string template) => template
            .Replace("{type}", type, StringComparison.Ordinal).Replace("{color}", attrs["color"], StringComparison.Ordinal)
            .Replace("{style}", StyleWords[attrs["style"]], StringComparison.Ordinal).Replace("{material}", MaterialWords[attrs["material"]], StringComparison.Ordinal)
            .Replace("{pattern}", attrs["pattern"], StringComparison.Ordinal).Replace("{fit}", attrs["fit"], StringComparison.Ordinal)
            .Replace("{season}", SeasonWords[attrs["season"]], StringComparison.Ordinal);
        var parts = Voices[brand];
        // sentence 1 always; sentences 2 and 3 when their attributes are part of the input
        var sentences = new List<string> { Fill(parts[0][rng.Next(parts[0].Length)]) };
        if (shown.Contains("material") && shown.Contains("pattern") && shown.Contains("fit")) sentences.Add(Fill(parts[1][rng.Next(parts[1].Length)]));
        if (shown.Contains("season")) sentences.Add(Fill(parts[2][rng.Next(parts[2].Length)]));
        var summary = string.Join(" ", sentences.Select(s => char.ToUpperInvariant(s[0]) + s[1..]));
        return (content, summary);
    }
}
