using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Engine.Generation;

/// <summary>Sampling defaults from a model's generation_config.json, as HF applies them: greedy unless
/// <c>do_sample</c> is true, then its temperature/top_k/top_p (HF defaults 1.0/50/1.0).</summary>
public static class GenerationDefaults
{
    public static GenerationOptions Load(string modelDirectory)
    {
        var json = ModelLedger.Data.JsonFile.ReadObject(Path.Combine(modelDirectory, "generation_config.json"));
        if (json is null) return new GenerationOptions();
        var options = new GenerationOptions
        {
            RepetitionPenalty = Number(json, "repetition_penalty") ?? 1.0,
            MaxNewTokens = (int?)Number(json, "max_new_tokens") ?? 128,
        };
        if (json["do_sample"] is JsonValue v && v.TryGetValue<bool>(out var sample) && sample)
            options = options with
            {
                Temperature = Number(json, "temperature") ?? 1.0,
                TopK = (int?)Number(json, "top_k") ?? 50,
                TopP = Number(json, "top_p") ?? 1.0,
            };
        return options;
    }

    private static double? Number(JsonObject json, string key) =>
        json[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
