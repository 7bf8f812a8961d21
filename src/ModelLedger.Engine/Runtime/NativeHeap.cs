using System.Runtime.InteropServices;

namespace ModelLedger.Engine.Runtime;

/// <summary>
/// glibc malloc settings for training. libtorch's CPU tensors come from malloc; glibc maps a block of at least its
/// mmap threshold on its own and unmaps it on free, but after the first such block is freed it raises the threshold
/// to that block's size (up to 32 MiB), so a step's activations then come from the heap, where freed tensors leave
/// holes that later, differently sized ones cannot reuse, and glibc keeps the pages of every hole resident: at the
/// peak of a LoRA step with gradient checkpointing the heap held about twice its live bytes (docs/benchmarks.md,
/// session 9). <c>MLEDGER_MALLOC</c> picks what training does about it:
/// <list type="bullet">
/// <item><c>trim</c>: <c>malloc_trim(0)</c> after every optimizer step hands the free pages back, so one step's holes
/// do not stay resident into the next (the peak grew step by step before); the next step faults its pages in again.
/// Under the jemalloc ./mledger preloads, which never purges by itself there, the same call purges every arena.
/// The default with gradient checkpointing, where that is ~0.1 M pages per step (about 2 % of a step's CPU); without
/// it a step touches ~1.4 GB afresh (~0.35 M faults, several per cent), so there it is opt-in.</item>
/// <item><c>mmap</c>: a fixed 256 KiB threshold keeps every large tensor in its own mapping, returned when freed:
/// the lowest peak (QLoRA with checkpointing below 0.7x LoRA's), but every large tensor is fresh pages from the
/// kernel, 10-20x the page faults: opt-in.</item>
/// <item><c>keep</c>: glibc's behaviour, nothing trimmed between steps, with or without checkpointing, and MKL's
/// buffers kept (below).</item>
/// </list>
/// Where it trims after each step, training also sets <c>MKL_DISABLE_FAST_MM</c> (unless it is set already):
/// libtorch's GEMMs run in MKL, whose memory manager otherwise keeps its packing buffers for reuse — about 70 MiB
/// live between steps on a 110M model, a tenth of QLoRA's peak with checkpointing. Not without checkpointing: there
/// full fine-tuning's weight-gradient GEMMs then allocate afresh each call, and its peak rose by 260 MiB and its
/// steps slowed by 5-15 % (docs/benchmarks.md, session 10).
/// glibc's own <c>MALLOC_MMAP_THRESHOLD_</c>, when set, wins over <c>mmap</c>.
/// </summary>
public static partial class NativeHeap
{
    /// <summary>The environment variable that picks the policy: <c>trim</c>, <c>mmap</c> or <c>keep</c>; unset:
    /// <see cref="Policy.Default"/>.</summary>
    public const string Variable = "MLEDGER_MALLOC";

    /// <summary>What training does with glibc's heap (see the class summary).</summary>
    public enum Policy { Default, TrimEachStep, Mmap, Keep }

    /// <summary>The policy a value of <see cref="Variable"/> names (unset or empty: <see cref="Policy.Default"/>,
    /// trim with gradient checkpointing, keep without); null for a value that names none.</summary>
    public static Policy? Parse(string? value) => value switch
    {
        null or "" => Policy.Default,
        "trim" => Policy.TrimEachStep,
        "mmap" => Policy.Mmap,
        "keep" => Policy.Keep,
        _ => null,
    };

    /// <summary>The policy of this process (from its environment; an unknown value: the default, and
    /// <see cref="ConfigureForTraining"/> says so).</summary>
    public static Policy Current { get; } = Parse(Environment.GetEnvironmentVariable(Variable)) ?? Policy.Default;

    /// <summary>Called after every optimizer step: under <see cref="Policy.TrimEachStep"/>, or the default with
    /// gradient checkpointing, returns the free heap pages to the system; returns whether anything was released.
    /// </summary>
    public static bool AfterOptimizerStep(Policy policy, bool checkpointing) =>
        TrimsEachStep(policy, checkpointing) && Trim();

    private static bool TrimsEachStep(Policy policy, bool checkpointing) =>
        policy == Policy.TrimEachStep || (policy == Policy.Default && checkpointing);

    /// <summary>Blocks from this size on get their own mapping (glibc's default before its dynamic raise: 128 KiB).
    /// </summary>
    public const int MmapThreshold = 256 * 1024;

    private const int MallocMmapThreshold = -3;   // M_MMAP_THRESHOLD in glibc's malloc.h

    private static int s_applied;

    /// <summary>MKL's switch for its buffer cache; read when MKL first allocates, so set before the first GEMM.
    /// </summary>
    public const string MklBuffersVariable = "MKL_DISABLE_FAST_MM";

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libjemalloc.so.2", EntryPoint = "mallctl", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MallCtl(string name, nint oldValue, nint oldLength, nint newValue, nuint newLength);

    /// <summary>jemalloc's "all arenas" index in mallctl names (MALLCTL_ARENAS_ALL).</summary>
    private const string AllArenasPurge = "arena.4096.purge";

    private static readonly Lazy<bool> s_jemalloc = new(() => MallocLibrary.InUse() == "jemalloc");

    /// <summary>Gives the free pages of every malloc arena back to the system: glibc's <c>malloc_trim(0)</c>, or under
    /// the preloaded jemalloc (which ./mledger runs with dirty-page purging off) a purge of every arena. Loading
    /// and quantizing free hundreds of MiB that the allocator would keep resident, in the loading thread's arena,
    /// where later allocations of other threads cannot reuse them. Returns whether the call was made (false on
    /// other C libraries).</summary>
    public static bool Trim() => OperatingSystem.IsLinux() && Trim(s_jemalloc.Value);

    /// <summary><see cref="Trim()"/> with the allocator named: jemalloc's purge (libjemalloc.so.2, as loaded in
    /// this process) or glibc's trim.</summary>
    internal static bool Trim(bool jemalloc)
    {
        try
        {
            return jemalloc ? MallCtl(AllArenasPurge, 0, 0, 0, 0) == 0 : MallocTrim(0) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Applies the settings once per process (the first training run decides); returns what was done, for
    /// the log (null: nothing, because it was not asked for, glibc's variable is set, or this is not glibc).</summary>
    public static string? ConfigureForTraining(bool checkpointing)
    {
        if (Interlocked.Exchange(ref s_applied, 1) == 1) return null;
        if (Parse(Environment.GetEnvironmentVariable(Variable)) is null)
            return $"warning: {Variable}={Environment.GetEnvironmentVariable(Variable)} is not trim, mmap or keep; " +
                   "using the default";
        if (OperatingSystem.IsLinux() && TrimsEachStep(Current, checkpointing)) ReleaseMklBuffers();
        if (!OperatingSystem.IsLinux() || Current != Policy.Mmap
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

    /// <summary>Sets <see cref="MklBuffersVariable"/> in the C environment (where MKL reads it; .NET's own copy
    /// is not what native code sees) unless the user set it.</summary>
    internal static void ReleaseMklBuffers()
    {
        try
        {
            SetEnv(MklBuffersVariable, "1", overwrite: 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc: no libc.so.6 to ask; MKL keeps its buffers
        }
    }
}
