using System.Text.Json;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Formats;

/// <summary>One tensor's entry in a safetensors header; offsets are relative to the start of the data section.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>
/// A validated safetensors file (https://github.com/huggingface/safetensors: u64 header length, JSON header, data).
/// The header is checked completely on open (known dtypes, byte size = product(shape) x width, offsets inside the
/// file, no overlap, no gaps), so a corrupt or truncated file fails here with its name rather than later as garbage
/// weights. Holds no open handle: each read opens the file, so instances are thread-safe.
/// </summary>
public sealed class SafetensorsFile
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;
    private readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafetensorsFile(string path, long dataStart, Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new UserError("file not found", file: path);
        using var stream = File.OpenRead(path);
        long fileLength = stream.Length;
        if (fileLength < 8) throw Corrupt(path, $"file is {fileLength} bytes, shorter than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw Corrupt(path, $"header length {headerLength} does not fit in a file of {fileLength} bytes (truncated?)");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        var (entries, metadata) = ParseHeader(path, header);
        Validate(path, entries, fileLength - dataStart);
        return new SafetensorsFile(path, dataStart, entries, metadata);
    }

    private static (Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw Corrupt(path, $"header is not valid JSON ({e.Message})"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Corrupt(path, "header is not a JSON object");
        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                if (property.Value.ValueKind != JsonValueKind.Object) throw Corrupt(path, "__metadata__ is not an object");
                foreach (var m in property.Value.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                continue;
            }
            entries[property.Name] = ParseEntry(path, property);
        }
        return (entries, metadata);
    }

    private static SafetensorsEntry ParseEntry(string path, JsonProperty property)
    {
        var v = property.Value;
        try
        {
            var dtype = v.GetProperty("dtype").GetString() ?? "";
            var shape = v.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = v.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offsets.Length != 2) throw Corrupt(path, $"tensor '{property.Name}': data_offsets must have 2 numbers");
            return new SafetensorsEntry(property.Name, dtype, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Corrupt(path, $"tensor '{property.Name}': needs dtype, shape and data_offsets ({e.Message})");
        }
    }

    private static void Validate(string path, Dictionary<string, SafetensorsEntry> entries, long dataLength)
    {
        foreach (var e in entries.Values)
        {
            if (!SafetensorsDType.TryGet(e.DType, out _, out int width))
                throw Corrupt(path, $"tensor '{e.Name}': unknown dtype '{e.DType}'");
            if (e.Shape.Any(d => d < 0)) throw Corrupt(path, $"tensor '{e.Name}': negative dimension in shape");
            if (e.Begin < 0 || e.End < e.Begin) throw Corrupt(path, $"tensor '{e.Name}': bad data_offsets [{e.Begin}, {e.End}]");
            if (e.End > dataLength)
                throw Corrupt(path, $"tensor '{e.Name}': data_offsets end {e.End} beyond the {dataLength}-byte data section (truncated file?)");
            long expected = e.Shape.Aggregate(1L, (a, d) => checked(a * d)) * width;
            if (e.End - e.Begin != expected)
                throw Corrupt(path, $"tensor '{e.Name}': {e.End - e.Begin} bytes but {e.DType} [{string.Join(", ", e.Shape)}] needs {expected}");
        }
        long cursor = 0;
        foreach (var e in entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < cursor) throw Corrupt(path, $"tensor '{e.Name}' overlaps the previous tensor at byte {e.Begin}");
            if (e.Begin > cursor) throw Corrupt(path, $"gap in the data section before tensor '{e.Name}' (bytes {cursor}..{e.Begin})");
            cursor = e.End;
        }
        if (cursor != dataLength) throw Corrupt(path, $"data section has {dataLength - cursor} unindexed trailing bytes");
    }

    /// <summary>Reads a tensor into a new CPU tensor of its stored dtype. The caller owns (disposes) it.</summary>
    public Tensor Read(string name)
    {
        if (!Entries.TryGetValue(name, out var e)) throw new UserError($"no tensor named '{name}'", file: Path);
        SafetensorsDType.TryGet(e.DType, out var type, out _);
        var tensor = empty(e.Shape, dtype: type);
        long length = e.End - e.Begin;
        if (length == 0) return tensor;
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        stream.Position = _dataStart + e.Begin;
        // Tensor.bytes copies a span into the tensor's storage; chunk so a tensor over 2 GiB still loads.
        var buffer = new byte[Math.Min(length, 1L << 30)];
        if (length <= buffer.Length)
        {
            stream.ReadExactly(buffer, 0, (int)length);
            tensor.bytes = buffer.AsSpan(0, (int)length);
            return tensor;
        }
        using var flat = tensor.view(-1);
        long elementsPerChunk = buffer.Length / (length / flat.shape[0]);
        for (long start = 0; start < flat.shape[0]; start += elementsPerChunk)
        {
            long count = Math.Min(elementsPerChunk, flat.shape[0] - start);
            int bytes = (int)(count * (length / flat.shape[0]));
            stream.ReadExactly(buffer, 0, bytes);
            using var chunk = empty(count, dtype: type);
            chunk.bytes = buffer.AsSpan(0, bytes);
            using var slice = flat.narrow(0, start, count);   // held: an unreferenced view can be freed mid-copy
            slice.copy_(chunk);
        }
        return tensor;
    }

    private static UserError Corrupt(string path, string message) =>
        new($"invalid safetensors file: {message}", file: path, hint: "the file may be truncated or corrupt; re-copy or re-export it");
}
