using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ModelLedger.Rewards.Metering;

/// <summary>Where group metering spends its time, summed over groups (for <c>mledger bench serve --billing-only</c>):
/// each stage's wall time and the metering thread's own CPU time in it (Linux; NaN elsewhere) — on a shared machine
/// the CPU time is the figure that does not depend on the load — plus groups, records and durable commits (each one
/// an fsync on SQLite). Not thread-safe: one metering loop adds to it.</summary>
public sealed class MeteringStages
{
    public static readonly string[] Names =
    [
        "reward tables sync before the group", "plan: retry lookup, policy, fee",
        "payload JSON (inference, attribution)",
        "ledger: fee transfers (rules, hashes, rows, balances)", "ledger: inference events (rules, refs, rows)",
        "ledger: attribution events (rules, refs, rows)", "commit (fsync)",
        "reward tables (accruals; in the group's transaction when joined)",
    ];

    private readonly long[] _ticks = new long[Names.Length];
    private readonly long[] _cpuNs = new long[Names.Length];
    public long Groups { get; private set; }
    public long Records { get; private set; }
    public long Commits { get; private set; }

    /// <summary>Per stage: wall time and the metering thread's CPU time.</summary>
    public IReadOnlyList<(string Stage, TimeSpan Wall, TimeSpan Cpu)> Totals =>
        [.. Names.Select((n, i) => (n, Stopwatch.GetElapsedTime(0, _ticks[i]),
            ThreadCpuAvailable ? TimeSpan.FromTicks(_cpuNs[i] / 100) : TimeSpan.MinValue))];

    /// <summary>A point in time on both clocks.</summary>
    public readonly record struct Stamp(long Ticks, long CpuNs);

    public static Stamp Now() => new(Stopwatch.GetTimestamp(), ThreadCpuNs());

    internal void Add(int stage, Stamp since)
    {
        var now = Now();
        _ticks[stage] += now.Ticks - since.Ticks;
        _cpuNs[stage] += now.CpuNs - since.CpuNs;
    }

    internal void Group(int records, int commits) =>
        (Groups, Records, Commits) = (Groups + 1, Records + records, Commits + commits);
    internal void Commit() => Commits++;

    public static bool ThreadCpuAvailable { get; } = OperatingSystem.IsLinux() && ThreadCpuNs() > 0;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private const int ClockThreadCpuTime = 3;   // CLOCK_THREAD_CPUTIME_ID (Linux)

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    private static long ThreadCpuNs()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try { return ClockGetTime(ClockThreadCpuTime, out var t) == 0 ? t.Seconds * 1_000_000_000 + t.Nanoseconds : 0; }
        catch (DllNotFoundException) { return 0; }
        catch (EntryPointNotFoundException) { return 0; }
    }
}
