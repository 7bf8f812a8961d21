using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Engine.Formats;
using ModelLedger.Data;
using ModelLedger.Engine.Models.Llama;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>
/// LoRA adapters in HF PEFT's on-disk format: <c>adapter_config.json</c> (peft_type LORA, r, lora_alpha,
/// target_modules, ...) and <c>adapter_model.safetensors</c> with names like
/// <c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c>. Files written here load in PEFT, and
/// adapters PEFT wrote load here.
/// </summary>
internal static class PeftLoraFiles
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";
    private const string Prefix = "base_model.model.";

    public static void Save(LlamaForCausalLM network, string adapter, LoraSettings settings, string baseModel, string directory)
    {
        Directory.CreateDirectory(directory);
        var tensors = new List<(string, Tensor)>();
        foreach (var (path, layer) in LoraInjector.Find(network))
        {
            if (!layer.Adapters.TryGetValue(adapter, out var pair)) continue;
            tensors.Add((TensorName(path, "lora_A"), pair.A.weight!));
            tensors.Add((TensorName(path, "lora_B"), pair.B.weight!));
        }
        SafetensorsWriter.Write(Path.Combine(directory, WeightsFile), tensors);
        WriteConfig(settings, baseModel, directory);
    }

    /// <summary>The PEFT tensor name of a projection's A or B (<paramref name="part"/> lora_A, lora_B).</summary>
    internal static string TensorName(string path, string part) => $"{Prefix}{path}.{part}.weight";

    /// <summary>Writes adapter_config.json for <paramref name="settings"/> (aside, then renamed).</summary>
    internal static void WriteConfig(LoraSettings settings, string baseModel, string directory)
    {
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModel,
            ["r"] = settings.Rank,
            ["lora_alpha"] = settings.Alpha,
            ["lora_dropout"] = settings.Dropout,
            ["target_modules"] = new JsonArray(settings.Targets.Select(t => (JsonNode)t).ToArray()),
            ["use_rslora"] = settings.RsLora,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["modules_to_save"] = null,
            ["layers_to_transform"] = null,
            ["use_dora"] = false,
        };
        WriteAtomic(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public static bool IsLora(string directory) => PeftTypeOf(directory) == "LORA";

    /// <summary>peft_type of adapter_config.json in <paramref name="directory"/> (null when there is none).</summary>
    internal static string? PeftTypeOf(string directory) => ReadConfig(directory) is JsonObject json
        ? new AdapterConfigValues(json, Path.Combine(directory, ConfigFile)).String("peft_type")
        : null;

    /// <summary>Reads adapter_config.json into settings; fails with the file and field on anything we cannot honour.</summary>
    public static LoraSettings ReadSettings(string directory)
    {
        var path = Path.Combine(directory, ConfigFile);
        var json = ReadConfig(directory) ?? throw new UserError("adapter_config.json not found", file: directory,
            hint: "--adapter must be a PEFT adapter directory");
        var values = new AdapterConfigValues(json, path);
        string peftType = values.String("peft_type") ?? "";
        if (peftType != "LORA") throw new UserError($"peft_type '{peftType}' is not LORA", file: path, field: "peft_type");
        if (values.Bool("use_dora", false))
            throw new UserError("DoRA adapters are not supported", file: path, field: "use_dora");
        if (values.Bool("fan_in_fan_out", false))
            throw new UserError("fan_in_fan_out adapters (GPT-2 Conv1D) do not apply to Llama", file: path,
                field: "fan_in_fan_out");
        var targets = json["target_modules"] switch
        {
            JsonArray a => values.Strings(a, "target_modules"),
            JsonValue when values.String("target_modules") is "all-linear" => [.. LoraSettings.AllTargets],
            JsonValue => LoraSettings.AllTargets
                .Where(t => values.String("target_modules")!.Contains(t, StringComparison.Ordinal)).ToList(),
            _ => throw new UserError("target_modules is missing", file: path, field: "target_modules"),
        };
        var unknown = targets.Where(t => !LoraSettings.AllTargets.Contains(t)).ToList();
        if (unknown.Count > 0)
            throw new UserError($"targets modules this model does not have: {string.Join(", ", unknown)}", file: path,
                field: "target_modules");
        if (targets.Count == 0)
            throw new UserError("names no module this model has", file: path, field: "target_modules");
        // PEFT's defaults: r 8, lora_alpha 8, lora_dropout 0.
        return new LoraSettings(values.Integer("r", 8, min: 1),
            values.Number("lora_alpha", 8, double.MinValue, double.MaxValue), values.Number("lora_dropout", 0, 0, 1),
            targets, values.Bool("use_rslora", false));
    }

    /// <summary>Attaches the adapter in <paramref name="directory"/> to the network under <paramref name="name"/>.</summary>
    public static LoraSettings Load(LlamaForCausalLM network, string directory, string name)
    {
        var settings = ReadSettings(directory);
        var weights = new StoredWeights(directory);
        var layers = LoraInjector.Attach(network, name, settings with { Dropout = 0 });
        using var _ = no_grad();
        foreach (var (path, layer) in layers)
        {
            var pair = layer.Adapters[name];
            foreach (var (part, weight) in new[] { ("lora_A", pair.A.weight!), ("lora_B", pair.B.weight!) })
            {
                using var scope = NewDisposeScope();   // temporaries referenced while libtorch reads them
                weight.copy_(weights.Read(path, part, weight.shape));   // copy_ converts the dtype
            }
        }
        weights.CheckAllUsed();
        return settings;
    }

    /// <summary>An adapter's tensors read one by one with their checks: present (with or without PEFT's adapter
    /// name in the key), of the shape the base needs, and none left unused.</summary>
    internal sealed class StoredWeights(string directory)
    {
        private readonly string _path = Path.Combine(directory, WeightsFile);
        private readonly SafetensorsFile _file = SafetensorsFile.Open(Path.Combine(directory, WeightsFile));
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);

        /// <summary>The lora_A or lora_B weight of projection <paramref name="path"/>; the caller disposes
        /// it.</summary>
        public Tensor Read(string path, string part, long[] shape)
        {
            var key = TensorName(path, part);
            var stored = _file.Entries.ContainsKey(key) ? key : $"{Prefix}{path}.{part}.default.weight";
            if (!_file.Entries.ContainsKey(stored))
                throw new UserError($"adapter has no tensor '{key}'", file: _path,
                    hint: "the adapter was trained for another architecture or target_modules");
            _used.Add(stored);
            var t = _file.Read(stored);
            if (!t.shape.SequenceEqual(shape))
            {
                var message = $"tensor '{stored}' has shape [{string.Join(", ", t.shape)}] but this base model needs " +
                    $"[{string.Join(", ", shape)}]";
                t.Dispose();
                throw new UserError(message, file: _path, hint: "the adapter was trained on a different base model");
            }
            return t;
        }

        public void CheckAllUsed()
        {
            var extra = _file.Entries.Keys.Where(k => !_used.Contains(k)).ToList();
            if (extra.Count > 0)
                throw new UserError($"adapter has tensors this model cannot use: {string.Join(", ", extra.Take(3))}",
                    file: _path);
        }
    }

    internal static JsonObject? ReadConfig(string directory) => JsonFile.ReadObject(Path.Combine(directory, ConfigFile));

    internal static void WriteAtomic(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
