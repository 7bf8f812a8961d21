using System.Runtime.InteropServices;
using ModelLedger.Testing;

namespace ModelLedger.Engine.Runtime;

/// <summary>
/// What training asks of the allocators besides glibc's trim (<see cref="HeapStatisticsTests"/>): jemalloc's purge of
/// every arena, checked under Debian's libjemalloc2 (skipped where it is not installed; CI installs it), and MKL's
/// buffer switch set in the C environment without overriding a user's value. Expected values: the contract as
/// documented (pages freed to jemalloc stay resident until purged; setenv without overwrite), checked with VmRSS and
/// libc's getenv, not with our own readers of them. In the non-parallel collection: other tests
/// allocating at the same time would move VmRSS.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed partial class AllocatorReleaseTests
{
    private const long MiB = 1 << 20;

    [LibraryImport("libc.so.6", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnv(string name);

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc.so.6", EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnsetEnv(string name);

    private static string? CEnvironment(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    private static long Rss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0]) * 1024;
        throw new InvalidOperationException("no VmRSS");
    }

    private const string Inner = "MLEDGER_TEST_UNDER_JEMALLOC";

    /// <summary>jemalloc cannot be loaded late (its thread-local storage is initial-exec), so this test runs itself
    /// again in a child process with Debian's libjemalloc2 preloaded, under ./mledger's settings (dirty-page purging
    /// off). There, 40 MiB in 64 KiB blocks from malloc, touched and freed, stay resident (VmRSS falls by less than
    /// a quarter); <see cref="NativeHeap.Trim()"/>, finding jemalloc in the process, purges every arena: VmRSS falls
    /// by at least three quarters of them.</summary>
    [Fact]
    public async Task JemallocPurge_HandsFreedPagesBack()
    {
        if (Environment.GetEnvironmentVariable(Inner) == "1")
        {
            PurgeUnderJemalloc();
            return;
        }
        // where build/allocator.sh looks for it
        var jemalloc = new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib" }
            .Select(dir => Path.Combine(dir, "libjemalloc.so.2")).FirstOrDefault(File.Exists);
        Assert.SkipWhen(jemalloc is null, "libjemalloc2 is not installed");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet",
            [typeof(AllocatorReleaseTests).Assembly.Location, "-method",
             $"{typeof(AllocatorReleaseTests).FullName}.{nameof(JemallocPurge_HandsFreedPagesBack)}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // a plain environment: the test host's own variables would have the child report to it as well
        foreach (var name in start.Environment.Keys.ToList())
            if (name is not ("PATH" or "HOME" or "TMPDIR") && !name.StartsWith("DOTNET_ROOT", StringComparison.Ordinal))
                start.Environment.Remove(name);
        start.Environment[Inner] = "1";
        start.Environment["LD_PRELOAD"] = jemalloc;
        start.Environment["MALLOC_CONF"] = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1";
        using var child = System.Diagnostics.Process.Start(start)!;
        var error = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var output = await child.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(child.ExitCode == 0 && output.Contains("Total: 1, Errors: 0, Failed: 0, Skipped: 0"),
            $"exit {child.ExitCode}:\n{output}\n{await error}");
    }

    private static unsafe void PurgeUnderJemalloc()
    {
        Assert.Equal("jemalloc", MallocLibrary.InUse());
        const int count = 640, size = 64 * 1024;
        const long total = (long)count * size;
        var blocks = new byte*[count];
        long before = Rss();
        for (int i = 0; i < count; i++)
        {
            blocks[i] = (byte*)NativeMemory.Alloc(size);
            for (int j = 0; j < size; j += 4096) blocks[i][j] = 1;
        }
        long live = Rss();
        Assert.True(live - before >= total * 9 / 10, $"touched {(live - before) / MiB} of {total / MiB} MiB");
        for (int i = 0; i < count; i++) NativeMemory.Free(blocks[i]);
        long freed = Rss();
        Assert.True(live - freed < total / 4, $"freed, yet {(live - freed) / MiB} MiB went at once");
        Assert.True(NativeHeap.Trim());
        long purged = Rss();
        Assert.True(freed - purged >= total * 3 / 4, $"purge released {(freed - purged) / MiB} of {total / MiB} MiB");
    }

    /// <summary>MKL_DISABLE_FAST_MM lands in the C environment (where MKL reads it) as "1", and a value the user set
    /// is left as it is.</summary>
    [Fact]
    public void MklBufferSwitch_IsSetUnlessTheUserSetIt()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "setenv is glibc's");
        const string name = NativeHeap.MklBuffersVariable;
        Assert.Equal("MKL_DISABLE_FAST_MM", name);   // MKL's documented name
        var original = CEnvironment(name);
        try
        {
            Assert.Equal(0, SetEnv(name, "user", 1));
            NativeHeap.ReleaseMklBuffers();
            Assert.Equal("user", CEnvironment(name));
            Assert.Equal(0, UnsetEnv(name));
            NativeHeap.ReleaseMklBuffers();
            Assert.Equal("1", CEnvironment(name));
        }
        finally
        {
            if (original is null) UnsetEnv(name);
            else SetEnv(name, original, 1);
        }
    }
}
