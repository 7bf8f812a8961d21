using ModelLedger.Engine.Runtime;
using Xunit;

namespace ModelLedger.Engine.Tests.Runtime;

public class MallocLibraryTests
{
    // Lines in the format of proc(5)'s /proc/PID/maps, written by hand.
    private const string Glibc = """
        55d0c8a00000-55d0c8a21000 rw-p 00000000 00:00 0                          [heap]
        7f1c2a000000-7f1c2a028000 r--p 00000000 fd:01 1311                       /usr/lib/x86_64-linux-gnu/libc.so.6
        7f1c2b000000-7f1c2b100000 r-xp 00000000 fd:01 2222                       /opt/jemalloc-notes/readme.so
        """;

    [Fact]
    public void GlibcWhenNoAllocatorLibraryIsMapped() => Assert.Equal("glibc", MallocLibrary.FromMaps(Glibc));

    [Theory]
    [InlineData("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "jemalloc")]
    [InlineData("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10", "tcmalloc")]
    [InlineData("/usr/local/lib/libmimalloc.so.2.1", "mimalloc")]
    public void NamesThePreloadedLibrary(string path, string expected)
    {
        var maps = Glibc + "\n7f1c2c000000-7f1c2c050000 r-xp 00000000 fd:01 3333                       " + path;
        Assert.Equal(expected, MallocLibrary.FromMaps(maps));
    }

    [Fact]
    public void ThisTestProcessRunsOnWhatItsMapsSay()
    {
        // dotnet test is not started through ./mledger, so nothing is preloaded unless the environment says so.
        var preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "";
        var expected = preload.Contains("jemalloc") ? "jemalloc" : preload.Contains("tcmalloc") ? "tcmalloc" : "glibc";
        if (OperatingSystem.IsLinux()) Assert.Equal(expected, MallocLibrary.InUse());
    }
}
