using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

public sealed class NativeLoadTests
{
    private const string Version = "GLIBCXX_3.4.32";

    private static string OutputCopy => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void Torch_LoadsAndComputes()
    {
        using var a = ones(3, 3, dtype: ScalarType.Float32);
        using var product = a.matmul(a);
        Assert.Equal(27f, product.sum().item<float>());
    }

    [Fact]
    public void OutputCopy_IsWeakExactlyWhenSystemLibStdCxxLacksTheVersion()
    {
        var bytes = File.ReadAllBytes(OutputCopy);
        long at = ElfVersionNeeds.FindFlagsOffset(bytes, Version);
        Assert.True(at > 0, $"{Version} need not found in {OutputCopy}");
        bool weak = (BitConverter.ToUInt16(bytes, (int)at) & ElfVersionNeeds.VerFlagWeak) != 0;
        Assert.Equal(!ElfVersionNeeds.SystemLibStdCxxHas(Version), weak);
    }

    [Fact]
    public void NuGetCacheCopy_IsNeverPatched()
    {
        var home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cached = Directory.EnumerateFiles(Path.Combine(home, "torchsharp"), "libLibTorchSharp.so", SearchOption.AllDirectories)
            .Where(p => p.Contains("linux-x64", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(cached);
        foreach (var path in cached)
        {
            var bytes = File.ReadAllBytes(path);
            long at = ElfVersionNeeds.FindFlagsOffset(bytes, Version);
            Assert.Equal(0, BitConverter.ToUInt16(bytes, (int)at) & ElfVersionNeeds.VerFlagWeak);
        }
    }

    [Fact]
    public void MarkWeak_SetsOnlyTheFlagBitAndIsIdempotent()
    {
        var temp = Path.Combine(Path.GetTempPath(), $"weak-{Guid.NewGuid():N}.so");
        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", "torchsharp");
        var source = Directory.EnumerateFiles(home, "libLibTorchSharp.so", SearchOption.AllDirectories).First(p => p.Contains("linux-x64", StringComparison.Ordinal));
        File.Copy(source, temp);
        try
        {
            var before = File.ReadAllBytes(temp);
            Assert.True(ElfVersionNeeds.MarkWeak(temp, Version));
            Assert.False(ElfVersionNeeds.MarkWeak(temp, Version));
            var after = File.ReadAllBytes(temp);
            var differing = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
            Assert.Single(differing);
            Assert.Equal(ElfVersionNeeds.VerFlagWeak, after[differing[0]] ^ before[differing[0]]);
        }
        finally { File.Delete(temp); }
    }

    [Fact]
    public void ParseDevice_RejectsUnknownNames()
    {
        Assert.Equal(ComputeDevice.Cuda, TorchRuntime.ParseDevice("CUDA"));
        var error = Assert.Throws<UserError>(() => TorchRuntime.ParseDevice("tpu"));
        Assert.Contains("tpu", error.Message, StringComparison.Ordinal);
        Assert.Equal(ModelDType.BFloat16, TorchRuntime.ParseDType("bf16"));
        Assert.Throws<UserError>(() => TorchRuntime.ParseDType("int3"));
    }
}
