using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Formats;

/// <summary>Writes tensors as one safetensors file, atomically (temp file, flush, rename), so a crash mid-write never
/// leaves a half-written file under the final name.</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["__metadata__"] = metadata ?? new Dictionary<string, string> { ["format"] = "pt" },
        };
        // The detach/to/contiguous temporaries stay referenced by the scope while libtorch reads them.
        using var scope = NewDisposeScope();
        long offset = 0;
        var contiguous = new List<Tensor>(tensors.Count);
        foreach (var (name, tensor) in tensors)
        {
            var cpu = tensor.detach().to(CPU).contiguous();
            long bytes = cpu.numel() * cpu.element_size();
            header[name] = new { dtype = SafetensorsDType.NameOf(cpu.dtype), shape = cpu.shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
            contiguous.Add(cpu);
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8;   // 8-byte aligned data section, padded with spaces as the reference does
        var headerBytes = new byte[padded];
        json.CopyTo(headerBytes, 0);
        Array.Fill(headerBytes, (byte)' ', json.Length, padded - json.Length);

        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            stream.Write(BitConverter.GetBytes((ulong)padded));
            stream.Write(headerBytes);
            foreach (var t in contiguous)
            {
                if (t.numel() > 0) stream.Write(t.bytes);
                t.Dispose();
            }
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
