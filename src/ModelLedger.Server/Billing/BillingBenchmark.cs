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
    /// <summary>Calls per client of the unmeasured warm-up before the group-commit run: a server bills for hours,
    /// and without it the first seconds run half-compiled code while the JIT's tiering thread takes a core (a
    /// profile of the 12,800-call run found that thread with as many samples as the loop).</summary>
    public const int WarmUpCalls = 50;

    /// <summary>Runs both modes: <paramref name="singleCallsPerClient"/> calls per client one by one (slow: three
    /// fsyncs per call, so it gets fewer calls), <paramref name="callsPerClient"/> through the group commit after an
    /// unmeasured warm-up of <see cref="WarmUpCalls"/> per client on a workspace of its own.</summary>
    public static async Task<BillingRun> RunAsync(string scratch, int clients, int callsPerClient,
        int singleCallsPerClient)
    {
        var rows = new List<BillingRow>();
        var stages = new MeteringStages();
        foreach (var grouped in new[] { false, true })
        {
            if (grouped)
            {
                var warm = Path.Combine(scratch, "warm-up");
                Prepare(warm, clients);
                using var warmPool = new MeteringPool(warm, null);
                var warmQueue = new GroupCommitQueue(warmPool);
                await Drive(clients, Math.Min(WarmUpCalls, callsPerClient), "warm", r => warmQueue.MeterAsync(r));
                await warmQueue.DisposeAsync();
            }
            var workspace = Path.Combine(scratch, grouped ? "grouped" : "single");
            Prepare(workspace, clients);
            using var pool = new MeteringPool(workspace, null);
            var queue = grouped ? new GroupCommitQueue(pool) : null;
            int calls = grouped ? callsPerClient : singleCallsPerClient;
            var clock = Stopwatch.StartNew();
            await Drive(clients, calls, "bench", r => queue is not null ? queue.MeterAsync(r)
                : pool.UseAsync(m => m.Metering.Meter(r)));
            var seconds = clock.Elapsed.TotalSeconds;
            long groups = (long)clients * calls;
            if (queue is not null)
            {
                await queue.DisposeAsync();
                (groups, stages) = (queue.Groups, queue.Stages);
            }
            Check(workspace, (long)clients * calls);
            long billed = (long)clients * calls;
            rows.Add(new BillingRow(grouped ? "group commit" : "one commit set per call", clients, billed, seconds,
                billed / seconds, groups));
        }
        return new BillingRun(rows, stages);
    }

    /// <summary><paramref name="clients"/> concurrent clients, each billing <paramref name="calls"/> calls back to
    /// back (prompt 20, completion 30 tokens, nothing attributed).</summary>
    private static Task Drive(int clients, int calls, string prefix, Func<InferenceRecord, Task<MeterResult>> meter) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (int i = 0; i < calls; i++)
                await meter(new InferenceRecord($"{prefix}-{c}-{i}", "bench", null, null, $"user:{c}", 20, 30,
                    new Dictionary<string, double>(), []));
        })));

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
