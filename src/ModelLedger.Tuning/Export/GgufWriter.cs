using System.Text;

namespace ModelLedger.Tuning.Export;

/// <summary>GGML tensor types we write.</summary>
public enum GgmlType : uint { F32 = 0, F16 = 1, Q8_0 = 8 }

/// <summary>
/// Writes a GGUF v3 file (ggml's container: "GGUF", version, tensor and metadata counts, typed key/values, tensor
/// infos with dims innermost-first, then 32-byte-aligned tensor data). Values are added in order; data is written last.
/// </summary>
internal sealed class GgufWriter
{
    private const uint Magic = 0x46554747;   // "GGUF" little-endian
    private const int Alignment = 32;
    private readonly List<(string Key, Action<BinaryWriter> Write)> _metadata = [];
    private readonly List<(string Name, long[] Shape, GgmlType Type, byte[] Data)> _tensors = [];

    private enum ValueType : uint { UInt8 = 0, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9, UInt32 = 4 }

    public void Add(string key, string value) => _metadata.Add((key, w => { w.Write((uint)ValueType.String); WriteString(w, value); }));
    public void Add(string key, uint value) => _metadata.Add((key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); }));
    public void Add(string key, float value) => _metadata.Add((key, w => { w.Write((uint)ValueType.Float32); w.Write(value); }));
    public void Add(string key, bool value) => _metadata.Add((key, w => { w.Write((uint)ValueType.Bool); w.Write((byte)(value ? 1 : 0)); }));

    public void Add(string key, IReadOnlyList<string> values) => _metadata.Add((key, w =>
    {
        w.Write((uint)ValueType.Array); w.Write((uint)ValueType.String); w.Write((ulong)values.Count);
        foreach (var v in values) WriteString(w, v);
    }));

    public void Add(string key, IReadOnlyList<float> values) => _metadata.Add((key, w =>
    {
        w.Write((uint)ValueType.Array); w.Write((uint)ValueType.Float32); w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    }));

    public void Add(string key, IReadOnlyList<int> values) => _metadata.Add((key, w =>
    {
        w.Write((uint)ValueType.Array); w.Write((uint)ValueType.Int32); w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    }));

    /// <param name="shape">PyTorch order (outermost first); written innermost first as GGUF wants.</param>
    public void AddTensor(string name, long[] shape, GgmlType type, byte[] data) => _tensors.Add((name, shape, type, data));

    public void Write(string path)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(3u);
            w.Write((ulong)_tensors.Count);
            w.Write((ulong)_metadata.Count);
            foreach (var (key, write) in _metadata) { WriteString(w, key); write(w); }
            ulong offset = 0;
            foreach (var (name, shape, type, data) in _tensors)
            {
                WriteString(w, name);
                w.Write((uint)shape.Length);
                foreach (var d in shape.Reverse()) w.Write((ulong)d);
                w.Write((uint)type);
                w.Write(offset);
                offset += (ulong)Align(data.Length);
            }
            Pad(w);
            foreach (var (_, _, _, data) in _tensors)
            {
                w.Write(data);
                Pad(w);
            }
            w.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    private static long Align(long n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter w)
    {
        long position = w.BaseStream.Position;
        for (long i = position; i < Align(position); i++) w.Write((byte)0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
