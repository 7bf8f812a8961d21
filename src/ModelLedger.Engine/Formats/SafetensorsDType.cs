using static TorchSharp.torch;

namespace ModelLedger.Engine.Formats;

/// <summary>The safetensors dtype names we read and write, with their torch type and byte width.</summary>
internal static class SafetensorsDType
{
    private static readonly Dictionary<string, (ScalarType Type, int Bytes)> ByName = new()
    {
        ["F64"] = (ScalarType.Float64, 8), ["F32"] = (ScalarType.Float32, 4), ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2), ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1), ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    public static bool TryGet(string name, out ScalarType type, out int bytes)
    {
        var found = ByName.TryGetValue(name, out var entry);
        (type, bytes) = entry;
        return found;
    }

    public static string NameOf(ScalarType type) =>
        ByName.FirstOrDefault(kv => kv.Value.Type == type).Key
        ?? throw new ArgumentException($"safetensors cannot store {type}");
}
