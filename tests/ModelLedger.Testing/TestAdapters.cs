using System.Text;

namespace ModelLedger.Testing;

/// <summary>Adapter folders for tests, written byte by byte (torch-free) in PEFT's layout.</summary>
public static class TestAdapters
{
    /// <summary>A PEFT LoRA (r 4, alpha 16) wrapping q_proj of both TinyStories-656K layers (hidden 128), with A and
    /// B drawn uniformly from ±<paramref name="scale"/> by a seeded generator: big enough to change greedy answers.
    /// </summary>
    public static string RandomLora(string directory, int seed, double scale = 0.5)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "adapter_config.json"), """
            {"peft_type": "LORA", "r": 4, "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": ["q_proj"],
             "base_model_name_or_path": "TinyStories-656K", "task_type": "CAUSAL_LM"}
            """);
        var random = new Random(seed);
        var tensors = new List<(string Name, int[] Shape, float[] Values)>();
        float[] Draw(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale))];
        for (int layer = 0; layer < 2; layer++)
        {
            var prefix = $"base_model.model.model.layers.{layer}.self_attn.q_proj";
            tensors.Add(($"{prefix}.lora_A.weight", [4, 128], Draw(4 * 128)));
            tensors.Add(($"{prefix}.lora_B.weight", [128, 4], Draw(128 * 4)));
        }
        WriteSafetensors(Path.Combine(directory, "adapter_model.safetensors"), tensors);
        return directory;
    }

    /// <summary>The safetensors layout: u64 header length, JSON header {name: {dtype, shape, data_offsets}}, then the
    /// little-endian F32 data in header order.</summary>
    public static void WriteSafetensors(string path, IReadOnlyList<(string Name, int[] Shape, float[] Values)> tensors)
    {
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, shape, values) in tensors)
        {
            if (header.Length > 1) header.Append(',');
            long end = offset + values.Length * 4L;
            header.Append($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],");
            header.Append($"\"data_offsets\":[{offset},{end}]}}");
            offset = end;
        }
        var json = Encoding.UTF8.GetBytes(header.Append('}').ToString());
        using var file = File.Create(path);
        using var writer = new BinaryWriter(file);
        writer.Write((ulong)json.Length);
        writer.Write(json);
        foreach (var (_, _, values) in tensors)
            foreach (var v in values) writer.Write(v);
    }
}
