using System.Diagnostics;
using ModelLedger.Testing;
using Xunit;

namespace ModelLedger.Cli.Tests.Launcher;

/// <summary>build/allocator.sh, which ./mledger sources to pick the malloc it preloads. Expected values are the
/// script's contract as written in its header: jemalloc when installed under auto, nothing under glibc, one line and
/// exit 2 for a bad setting or a missing jemalloc that was asked for, an allocator already preloaded kept.</summary>
public sealed class AllocatorScriptTests : IDisposable
{
    private readonly string _libs = Directory.CreateTempSubdirectory("mledger-alloc-").FullName;
    private readonly string _empty = Directory.CreateTempSubdirectory("mledger-alloc-none-").FullName;

    public AllocatorScriptTests() => File.WriteAllBytes(Path.Combine(_libs, "libjemalloc.so.2"), [0x7f]);

    public void Dispose()
    {
        Directory.Delete(_libs, true);
        Directory.Delete(_empty, true);
    }

    private static (int Code, string Out, string Err) Run(string dirs, string? choice, string? preload = null)
    {
        var script = Path.Combine(TestPaths.RepositoryRoot, "build", "allocator.sh");
        // The preload is set for the function only: bash itself would try to load a library that is not there.
        var call = (preload == null ? "" : "LD_PRELOAD=\"$TEST_PRELOAD\" ") + "mledger_allocator_library";
        var start = new ProcessStartInfo("bash", ["-c", $". '{script}'; {call}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["MLEDGER_ALLOCATOR_DIRS"] = dirs;
        start.Environment.Remove("MLEDGER_ALLOCATOR");
        if (choice != null) start.Environment["MLEDGER_ALLOCATOR"] = choice;
        start.Environment.Remove("LD_PRELOAD");
        if (preload != null) start.Environment["TEST_PRELOAD"] = preload;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Trim(), error.Trim());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("auto")]
    [InlineData("jemalloc")]
    public void PreloadsJemallocWhereItIsInstalled(string? choice)
    {
        var (code, output, error) = Run($"{_empty} {_libs}", choice);
        Assert.Equal((0, Path.Combine(_libs, "libjemalloc.so.2"), ""), (code, output, error));
    }

    [Fact]
    public void GlibcPreloadsNothing() => Assert.Equal((0, "", ""), Run(_libs, "glibc"));

    [Fact]
    public void AutoWithoutJemallocPreloadsNothing() => Assert.Equal((0, "", ""), Run(_empty, null));

    [Fact]
    public void AnAllocatorAlreadyPreloadedIsKept() =>
        Assert.Equal((0, "", ""), Run(_libs, null, "/usr/lib/libtcmalloc_minimal.so.4"));

    [Fact]
    public void AskingForAMissingJemallocIsOneLineAndExitTwo()
    {
        var (code, output, error) = Run(_empty, "jemalloc");
        Assert.Equal((2, ""), (code, output));
        Assert.Single(error.Split('\n'));
        Assert.Contains("libjemalloc2", error);
    }

    [Fact]
    public void AnUnknownSettingIsOneLineAndExitTwo()
    {
        var (code, output, error) = Run(_libs, "tcmalloc");
        Assert.Equal((2, ""), (code, output));
        Assert.Equal("mledger: MLEDGER_ALLOCATOR='tcmalloc' is not one of auto, jemalloc, glibc", error);
    }
}
