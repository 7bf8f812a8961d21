using System.Runtime.InteropServices;

namespace ModelLedger.Engine.Runtime;

/// <summary>
/// glibc malloc settings for training. libtorch's CPU tensors come from malloc; glibc maps a block of at least its
/// mmap threshold on its own and unmaps it on free, but after the first such block is freed it raises the threshold
/// to that block's size (up to 32 MiB), so a step's activations then come from the heap, where freed tensors leave
/// holes that later, differently sized ones cannot reuse: a third of LoRA's peak was such slack (docs/benchmarks.md,
/// peak memory). A fixed threshold keeps every large tensor in its own mapping, returned to the system when freed.
/// Opt-in with <c>MLEDGER_MALLOC=mmap</c>: it cut LoRA's peak by 40 % but cost about 15 % more CPU time in page
/// faults (docs/benchmarks.md, session 7); glibc's own <c>MALLOC_MMAP_THRESHOLD_</c>, when set, wins.
/// </summary>
public static partial class NativeHeap
{
    /// <summary>The environment variable that turns this on (<c>mmap</c>).</summary>
    public const string Variable = "MLEDGER_MALLOC";

    /// <summary>Blocks from this size on get their own mapping (glibc's default before its dynamic raise: 128 KiB).
    /// </summary>
    public const int MmapThreshold = 256 * 1024;

    private const int MallocMmapThreshold = -3;   // M_MMAP_THRESHOLD in glibc's malloc.h

    private static int s_applied;

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <summary>Gives the free pages of every malloc arena back to the system (glibc's <c>malloc_trim(0)</c>):
    /// loading and quantizing free hundreds of MiB that glibc would keep resident, in the loading thread's arena,
    /// where later allocations of other threads cannot reuse them. Returns whether anything was released (false
    /// on other C libraries).</summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return MallocTrim(0) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Experimental: sets glibc's mmap threshold to a fixed value (bytes); false where not glibc.</summary>
    public static bool SetMmapThreshold(int bytes)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return MallOpt(MallocMmapThreshold, bytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Applies the setting once per process when asked for; returns what was done, for the log (null:
    /// nothing, because it was not asked for, glibc's variable is set, or this is not glibc).</summary>
    public static string? ConfigureForTraining()
    {
        if (Interlocked.Exchange(ref s_applied, 1) == 1) return null;
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) != "mmap"
            || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null)
            return null;
        try
        {
            return MallOpt(MallocMmapThreshold, MmapThreshold) == 1
                ? $"malloc: tensors from {MmapThreshold / 1024} KiB on in their own mappings ({Variable}=mmap)"
                : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;   // not glibc (musl, macOS): its allocator, its defaults
        }
    }
}
