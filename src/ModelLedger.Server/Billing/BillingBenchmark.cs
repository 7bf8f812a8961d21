using System.Diagnostics;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Server.Billing;

/// <summary>One measured billing mode: calls billed, seconds, billed calls per second, ledger groups committed.
/// </summary>
public sealed record BillingRow(string Mode, int Clients, long Billed, double Seconds, double PerSecond, long Groups);

/// <summary>The measured modes and, for group commit, where its loop spent the time.</summary>
public sealed record BillingRun(IReadOnlyList<BillingRow> Rows, MeteringStages Stages);

/// <summary>
/// The ledger work of billing under concurrent clients, without generation (<c>--billing-only</c>): each client
/// meters calls back to back on a fresh SQLite workspace, either each call on its own (three commits per call, as
/// <see cref="Metering.Meter"/>) or through the <see cref="GroupCommitQueue"/>. Every call is checked afterwards by
/// <see cref="RewardsVerifier"/>, so a fast but wrong run fails.
/// </summary>
public static class BillingBenchmark
{
    public static async Task<BillingRun> RunAsync(string scratch, int clients, int callsPerClient)
    {
        var rows = new List<BillingRow>();
        var stages = new MeteringStages();
        foreach (var grouped in new[] { false, true })
        {
            var workspace = Path.Combine(scratch, grouped ? "grouped" : "single");
            Prepare(workspace, clients);
            using var pool = new MeteringPool(workspace, null);
            var queue = grouped ? new GroupCommitQueue(pool) : null;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                for (int i = 0; i < callsPerClient; i++)
                {
                    var record = new InferenceRecord($"bench-{c}-{i}", "bench", null, null, $"user:{c}", 20, 30,
                        new Dictionary<string, double>(), []);
                    if (queue is not null) await queue.MeterAsync(record);
                    else await pool.UseAsync(m => m.Metering.Meter(record));
                }
            })));
            var seconds = clock.Elapsed.TotalSeconds;
            long groups = (long)clients * callsPerClient;
            if (queue is not null)
            {
                await queue.DisposeAsync();
                (groups, stages) = (queue.Groups, queue.Stages);
            }
            Check(workspace, (long)clients * callsPerClient);
            long billed = (long)clients * callsPerClient;
            rows.Add(new BillingRow(grouped ? "group commit" : "one commit set per call", clients, billed, seconds,
                billed / seconds, groups));
        }
        return new BillingRun(rows, stages);
    }

    /// <summary>1,000 units per 1,000 tokens for prompt and completion alike: a call's fee is its token count. Split
    /// 50 % training, 20 % documents, 10 % adapter owner, 20 % treasury.</summary>
    public static FeePolicy UnitPolicy() => new(new Price(1000, 1000), new Dictionary<string, Price>(),
        new Dictionary<string, Price>(), new SplitBps(5000, 2000, 1000, 2000), "rewards:treasury", "rewards:treasury",
        "rewards:escrow", new RuleSettings());

    private static void Prepare(string workspace, int clients)
    {
        using var ws = LedgerWorkspace.Init(workspace, "bench.example/billing", null);
        using var tables = RewardStore.Open(ws);
        ws.Service.CreateAccount("mint", allowNegative: true);
        PolicyBook.Set(ws, tables, UnitPolicy(), "bench");
        var callers = Enumerable.Range(0, clients).Select(c => $"user:{c}").ToArray();
        PolicyBook.EnsureAccounts(ws, callers);
        ws.Service.Transfer([.. callers.Select(c => new Transfer($"fund:{c}", "mint", c, 1_000_000_000))]);
    }

    private static void Check(string workspace, long expected)
    {
        using var ws = LedgerWorkspace.Open(workspace, null);
        using var tables = RewardStore.Open(ws);
        var report = RewardsVerifier.Verify(ws.Store, tables);
        if (!report.Ok || report.Inferences != expected)
            throw new InvalidOperationException($"billing benchmark: {report.Inferences} of {expected} inferences " +
                $"verified; {string.Join("; ", report.Problems.Take(3))}");
    }
}
