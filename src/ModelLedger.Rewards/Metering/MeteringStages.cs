using System.Diagnostics;

namespace ModelLedger.Rewards.Metering;

/// <summary>Where group metering spends its time, summed over groups (for <c>mledger bench serve --billing-only</c>):
/// each stage's elapsed ticks, plus groups, records and durable commits (each one an fsync on SQLite). Not
/// thread-safe: one metering loop adds to it.</summary>
public sealed class MeteringStages
{
    public static readonly string[] Names =
    [
        "reward tables sync before the group", "plan: retry lookup, policy, fee", "payload JSON (inference, attribution)",
        "ledger: fee transfers (rules, hashes, rows, balances)", "ledger: inference events (rules, refs, rows)",
        "ledger: attribution events (rules, refs, rows)", "commit (fsync)", "reward tables sync after (accruals)",
    ];

    private readonly long[] _ticks = new long[Names.Length];
    public long Groups { get; private set; }
    public long Records { get; private set; }
    public long Commits { get; private set; }

    public IReadOnlyList<(string Stage, TimeSpan Elapsed)> Totals =>
        [.. Names.Select((n, i) => (n, Stopwatch.GetElapsedTime(0, _ticks[i])))];

    internal void Add(int stage, long since) => _ticks[stage] += Stopwatch.GetTimestamp() - since;
    internal void Group(int records, int commits) => (Groups, Records, Commits) = (Groups + 1, Records + records, Commits + commits);
    internal void Commit() => Commits++;
}
