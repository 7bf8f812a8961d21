using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ModelLedger.Datanets.Intake;

/// <summary>The stages of one intake, in the order a record meets them.</summary>
public enum IntakeStage
{
    /// <summary>Reading the files, parsing and validating every record, canonical content hash.</summary>
    ReadValidate,
    /// <summary>Ed25519 verification (worker threads, one per core).</summary>
    VerifySignature,
    /// <summary>Normalise, shingle, MinHash, band keys, quality, paraphrase shape (worker threads).</summary>
    AnalyseText,
    /// <summary>The ordered consumer waiting for a chunk of checks to finish (wall time, no CPU).</summary>
    WaitForChecks,
    /// <summary>The ordered decisions: exact and near-duplicate lookups, Jaccard, quality and quota rules, index
    /// insert.</summary>
    Decide,
    /// <summary>Building each record's ledger payload (canonical JSON).</summary>
    BuildEvents,
    /// <summary>The ledger's batched append (rules, leaf bytes, Merkle tree, SQLite insert, commit) on its
    /// background chain.</summary>
    LedgerAppend,
    /// <summary>Building and inserting the item and rejection rows, one transaction.</summary>
    StoreRows,
}

/// <summary>
/// Where an intake's time goes: per <see cref="IntakeStage"/>, the CPU time of the threads that ran it (Linux thread
/// CPU clock; elsewhere it falls back to wall time), their wall time and the bytes they allocated. Stages on
/// different threads overlap, so the wall times add up to more than the intake's wall time; the CPU times add up to
/// (nearly) the process's. Filled by the pipeline when one is passed in; thread-safe (workers add concurrently).
/// </summary>
public sealed class IntakeProfile
{
    private static readonly int StageCount = Enum.GetValues<IntakeStage>().Length;
    private readonly long[] _cpuNs = new long[StageCount];
    private readonly long[] _wallTicks = new long[StageCount];
    private readonly long[] _bytes = new long[StageCount];

    /// <summary>A point in time on the calling thread: its CPU clock (ns), the wall clock (Stopwatch ticks) and the
    /// bytes it has allocated.</summary>
    public readonly record struct Mark(long CpuNs, long WallTicks, long Bytes)
    {
        public static Mark Now() =>
            new(ThreadCpuNs(), Stopwatch.GetTimestamp(), GC.GetAllocatedBytesForCurrentThread());

        /// <summary>The same with the whole process's CPU clock, for a stage that runs on every core while nothing
        /// else does (reading and validating the files).</summary>
        public static Mark Process() =>
            new(Environment.CpuUsage.TotalTime.Ticks * 100, Stopwatch.GetTimestamp(), GC.GetTotalAllocatedBytes());
    }

    /// <summary>As <see cref="Add(IntakeStage, Mark)"/> for a stage started with <see cref="Mark.Process"/>.</summary>
    public void AddProcess(IntakeStage stage, Mark since)
    {
        var now = Mark.Process();
        Add(stage, now.CpuNs - since.CpuNs, now.WallTicks - since.WallTicks, now.Bytes - since.Bytes);
    }

    /// <summary>Adds what the calling thread spent since <paramref name="since"/> to <paramref name="stage"/> and
    /// returns the new mark, so consecutive stages can be timed with one clock read between them.</summary>
    public Mark Add(IntakeStage stage, Mark since)
    {
        var now = Mark.Now();
        Add(stage, now.CpuNs - since.CpuNs, now.WallTicks - since.WallTicks, now.Bytes - since.Bytes);
        return now;
    }

    /// <summary>Adds measured CPU nanoseconds, wall Stopwatch ticks and allocated bytes to a stage.</summary>
    public void Add(IntakeStage stage, long cpuNs, long wallTicks, long bytes)
    {
        Interlocked.Add(ref _cpuNs[(int)stage], cpuNs);
        Interlocked.Add(ref _wallTicks[(int)stage], wallTicks);
        Interlocked.Add(ref _bytes[(int)stage], bytes);
    }

    /// <summary>Per stage, in stage order: CPU seconds, wall seconds and bytes allocated.</summary>
    public IReadOnlyList<(IntakeStage Stage, double CpuSeconds, double WallSeconds, long Bytes)> Stages =>
        Enum.GetValues<IntakeStage>().Select(s => (s, Volatile.Read(ref _cpuNs[(int)s]) / 1e9,
            (double)Volatile.Read(ref _wallTicks[(int)s]) / Stopwatch.Frequency,
            Volatile.Read(ref _bytes[(int)s]))).ToList();

    /// <summary>The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID, a vDSO call on Linux); wall time where
    /// that clock is unavailable.</summary>
    private static long ThreadCpuNs()
    {
        if (OperatingSystem.IsLinux() && clock_gettime(ThreadCpuClock, out var ts) == 0)
            return ts.Seconds * 1_000_000_000 + ts.Nanoseconds;
        return (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
    }

    private const int ThreadCpuClock = 3;   // CLOCK_THREAD_CPUTIME_ID in <time.h> on Linux

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds, Nanoseconds;
    }

    [DllImport("libc", SetLastError = false)]
    private static extern int clock_gettime(int clock, out TimeSpec time);
}
