using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelLedger.Attribution.Spans;

/// <summary>
/// The on-disk span index, version 1, little-endian: a 128-byte header
/// (<c>"MLSPANS\0"</c>, int32 version, int32 header size, int64 token count n (separators included), int64 suffix
/// count m, int64 segment count s, 32-byte SHA-256 of the tokenizer.json, 32-byte SHA-256 of the snapshot content,
/// zero padding) followed by int32 tokens[n], int32 suffixes[m], int32 segment starts[s], int32 segment rows[s].
/// Written aside and renamed, so a reader never sees half a file.
/// </summary>
internal static class SpanIndexFile
{
    public const int Version = 1, HeaderBytes = 128;
    public static readonly byte[] Magic = Encoding.ASCII.GetBytes("MLSPANS\0");

    public sealed record Header(long Tokens, long Suffixes, long Segments, string TokenizerHash, string ContentHash)
    {
        public long FileBytes => HeaderBytes + 4 * (Tokens + Suffixes + 2 * Segments);
    }

    public static void Write(string path, TokenCorpus corpus, int[] suffixes, string tokenizerHash, string contentHash)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        {
            var header = new byte[HeaderBytes];
            Magic.CopyTo(header, 0);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), HeaderBytes);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), corpus.Tokens.Length);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(24), suffixes.Length);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(32), corpus.SegmentStarts.Length);
            Convert.FromHexString(tokenizerHash).CopyTo(header, 40);
            Convert.FromHexString(contentHash).CopyTo(header, 72);
            stream.Write(header);
            foreach (var array in new[] { corpus.Tokens, suffixes, corpus.SegmentStarts, corpus.SegmentRows })
            {
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the span index is little-endian");
                stream.Write(MemoryMarshal.AsBytes(array.AsSpan()));
            }
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The header of <paramref name="bytes"/> (the file's first 128 bytes), or why it is not an index of
    /// this version.</summary>
    public static Header Read(ReadOnlySpan<byte> bytes, long fileLength, string path)
    {
        if (bytes.Length < HeaderBytes || !bytes[..8].SequenceEqual(Magic))
            throw new UserError("is not a span index (bad magic)", file: path, hint: "rebuild it: mledger spans --snapshot DIR --rebuild");
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        if (version != Version)
            throw new UserError($"span index version {version}; this build reads {Version}", file: path, hint: "rebuild it with --rebuild");
        var header = new Header(BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]), BinaryPrimitives.ReadInt64LittleEndian(bytes[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[32..]), Convert.ToHexStringLower(bytes.Slice(40, 32)),
            Convert.ToHexStringLower(bytes.Slice(72, 32)));
        if (header.Tokens < 0 || header.Suffixes < 0 || header.Segments < 0 || header.Suffixes > header.Tokens
            || header.Tokens > int.MaxValue || header.FileBytes != fileLength)
            throw new UserError($"is truncated or corrupt ({fileLength} bytes; the header implies {header.FileBytes})", file: path,
                hint: "rebuild it with --rebuild");
        return header;
    }
}
