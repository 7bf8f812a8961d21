using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Models.Llama;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>P-Tuning v2 prefixes in PEFT's PREFIX_TUNING layout: adapter_config.json and adapter_model.safetensors
/// holding the computed <c>prompt_embeddings</c> [P, layers·2·kvDim] (the projection MLP is not needed to use them).</summary>
internal static class PeftPrefixFiles
{
    public static bool IsPrefix(string directory) => PeftLoraFiles.PeftTypeOf(directory) == "PREFIX_TUNING";

    public static void Save(PrefixEncoder encoder, LlamaConfig c, string baseModel, string directory)
    {
        Directory.CreateDirectory(directory);
        using (no_grad())
        using (NewDisposeScope())   // the position ids and the projection's activations, referenced while read
            SafetensorsWriter.Write(Path.Combine(directory, PeftLoraFiles.WeightsFile),
                [("prompt_embeddings", encoder.PromptEmbeddings())]);
        var config = new JsonObject
        {
            ["peft_type"] = "PREFIX_TUNING",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModel,
            ["num_virtual_tokens"] = encoder.Length,
            ["token_dim"] = c.NumKeyValueHeads * c.HeadDim,
            ["num_layers"] = c.NumHiddenLayers,
            ["num_attention_heads"] = c.NumKeyValueHeads,
            ["encoder_hidden_size"] = c.HiddenSize,
            ["prefix_projection"] = encoder.Projected,
            ["inference_mode"] = true,
        };
        PeftLoraFiles.WriteAtomic(Path.Combine(directory, PeftLoraFiles.ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public static PrefixEncoder Load(LlamaConfig c, string directory, Device device, ScalarType dtype)
    {
        var path = Path.Combine(directory, PeftLoraFiles.WeightsFile);
        var file = SafetensorsFile.Open(path);
        using var table = file.Read("prompt_embeddings");
        long width = 2L * c.NumHiddenLayers * c.NumKeyValueHeads * c.HeadDim;
        if (table.shape.Length != 2 || table.shape[1] != width)
            throw new UserError($"prompt_embeddings has shape [{string.Join(", ", table.shape)}] but this base model needs [P, {width}]",
                file: path, hint: "the prefix was trained on a different base model");
        using var converted = table.to(dtype);   // held until FromTable has copied it
        return PrefixEncoder.FromTable(c, converted, device, dtype);
    }
}
