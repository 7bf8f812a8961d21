using System.Text.Json;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Formats;

/// <summary>
/// The tensors of an HF model directory: <c>model.safetensors</c> or the shards named by
/// <c>model.safetensors.index.json</c>. Names listed as aliases in a file's <c>__metadata__</c> (name → stored name,
/// as TinyStories-656K stores the tied embedding only as lm_head.weight) resolve to the stored tensor.
/// </summary>
public sealed class WeightSource
{
    private readonly Dictionary<string, (SafetensorsFile File, string Stored)> _tensors = new(StringComparer.Ordinal);

    public IEnumerable<string> Names => _tensors.Keys;
    public IReadOnlyCollection<string> Files { get; }

    private WeightSource(IReadOnlyList<SafetensorsFile> files)
    {
        Files = files.Select(f => f.Path).ToArray();
        foreach (var file in files)
            foreach (var name in file.Entries.Keys)
                _tensors[name] = (file, name);
        foreach (var file in files)
            foreach (var (alias, target) in file.Metadata)
                if (!_tensors.ContainsKey(alias) && file.Entries.ContainsKey(target))
                    _tensors[alias] = (file, target);
    }

    public static WeightSource Open(string directory)
    {
        var single = Path.Combine(directory, "model.safetensors");
        var index = Path.Combine(directory, "model.safetensors.index.json");
        if (File.Exists(single)) return new WeightSource([SafetensorsFile.Open(single)]);
        if (File.Exists(index)) return new WeightSource(ShardsOf(directory, index).Select(SafetensorsFile.Open).ToArray());
        throw new UserError("no model.safetensors or model.safetensors.index.json", file: directory,
            hint: "convert .bin/.pth checkpoints to safetensors first");
    }

    private static IEnumerable<string> ShardsOf(string directory, string index)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            var shards = doc.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!).Distinct().ToList();
            if (shards.Count == 0) throw new UserError("weight_map is empty", file: index, field: "weight_map");
            return shards.Select(s => Path.Combine(directory, s));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new UserError($"not a valid safetensors index ({e.Message})", file: index, field: "weight_map");
        }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public long[] ShapeOf(string name) => _tensors[name].File.Entries[_tensors[name].Stored].Shape;

    /// <summary>Reads a tensor (stored dtype, CPU); the caller disposes it.</summary>
    public Tensor Read(string name)
    {
        if (!_tensors.TryGetValue(name, out var at)) throw new UserError($"checkpoint has no tensor '{name}'", file: Files.First());
        return at.File.Read(at.Stored);
    }
}
