using System.Text;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Formats;

public sealed class SafetensorsFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void WriteThenRead_RoundTripsValuesShapesAndDType(ScalarType dtype)
    {
        var path = _dir.File("t.safetensors");
        using var a = arange(12, dtype: ScalarType.Float32).reshape(3, 4).to(dtype);
        using var b = tensor(new[] { -1.5f, 2.25f }).to(dtype);
        SafetensorsWriter.Write(path, [("a", a), ("b", b)]);
        var file = SafetensorsFile.Open(path);
        using var ra = file.Read("a");
        using var rb = file.Read("b");
        Assert.Equal(dtype, ra.dtype);
        Assert.Equal([3L, 4], ra.shape);
        Assert.True(ra.eq(a).all().item<bool>());
        Assert.True(rb.eq(b).all().item<bool>());
    }

    [Fact]
    public void Open_ReadsTheTinyStoriesAlias()
    {
        var file = SafetensorsFile.Open(Path.Combine(TestPaths.TinyStories, "model.safetensors"));
        Assert.Equal("lm_head.weight", file.Metadata["model.embed_tokens.weight"]);
        Assert.Equal([2048L, 128], file.Entries["lm_head.weight"].Shape);
    }

    [Fact]
    public void Open_Truncated_FailsNamingTheFileAndTensor()
    {
        var path = ValidFile();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);
        var error = Assert.Throws<UserError>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, error.File);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_HeaderLengthBeyondFile_Fails()
    {
        var path = ValidFile();
        var bytes = File.ReadAllBytes(path);
        BitConverter.GetBytes((ulong)bytes.Length).CopyTo(bytes, 0);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("header length", Assert.Throws<UserError>(() => SafetensorsFile.Open(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_TinyFile_Fails() =>
        Assert.Throws<UserError>(() => SafetensorsFile.Open(WriteRaw("x.safetensors", [1, 2, 3])));

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", "not valid JSON")]
    [InlineData("""{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}""", "unknown dtype")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", "needs 12")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "overlaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "gap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", "beyond")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", "bad data_offsets")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1]}}""", "needs dtype, shape and data_offsets")]
    public void Open_CorruptHeader_FailsWithReason(string header, string reason)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = BitConverter.GetBytes((ulong)json.Length).Concat(json).Concat(new byte[8]).ToArray();
        var error = Assert.Throws<UserError>(() => SafetensorsFile.Open(WriteRaw("bad.safetensors", bytes)));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    private string ValidFile()
    {
        var path = _dir.File("valid.safetensors");
        using var t = ones(4, 4);
        SafetensorsWriter.Write(path, [("w", t)]);
        return path;
    }

    private string WriteRaw(string name, byte[] bytes)
    {
        var path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
