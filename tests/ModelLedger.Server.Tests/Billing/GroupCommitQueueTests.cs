using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;
using ModelLedger.Testing;

namespace ModelLedger.Server.Billing;

/// <summary>Group commit: concurrent bills share ledger commits and each gets what metering it alone would give.
/// Prices are 1,000 units per 1,000 tokens either way, so a fee is prompt + completion tokens (docs/rewards.md).
/// </summary>
public sealed class GroupCommitQueueTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _workspace;

    public GroupCommitQueueTests()
    {
        _workspace = _dir.Sub("ws");
        using var ws = LedgerWorkspace.Init(_workspace, "test.example/group", null);
        using var tables = RewardStore.Open(ws);
        ws.Service.CreateAccount("mint", allowNegative: true);
        PolicyBook.Set(ws, tables, Billing.BillingBenchmark.UnitPolicy(), "test");
        PolicyBook.EnsureAccounts(ws, [.. Enumerable.Range(0, 6).Select(i => $"user:{i}"), "user:broke"]);
        ws.Service.Transfer([.. Enumerable.Range(0, 6).Select(i => new Transfer($"fund:{i}", "mint", $"user:{i}", 1000))]);
    }

    public void Dispose() => _dir.Dispose();

    private static InferenceRecord Record(string id, string caller, int prompt, int completion) =>
        new(id, "tiny", null, null, caller, prompt, completion, new Dictionary<string, double>(), []);

    [Fact]
    public async Task ConcurrentBills_ShareCommits_AndEachIsBilledExactly()
    {
        using var pool = new MeteringPool(_workspace, null);
        var queue = new GroupCommitQueue(pool);
        // 48 calls: caller i % 6, prompt 3 + i, completion i; the broke caller's one call fails alone.
        var calls = Enumerable.Range(0, 48).Select(i => queue.MeterAsync(Record($"call-{i}", $"user:{i % 6}", 3 + i, i)))
            .ToList();
        var broke = queue.MeterAsync(Record("broke-1", "user:broke", 10, 10));
        var results = await Task.WhenAll(calls);
        await Assert.ThrowsAsync<LedgerError>(() => broke);
        Assert.All(results, r => Assert.False(r.AlreadyBilled));
        Assert.Equal(Enumerable.Range(0, 48).Select(i => (UInt128)(3 + 2 * i)), results.Select(r => r.Fee));
        var retry = await queue.MeterAsync(Record("call-7", "user:1", 10, 7));   // same id, same content
        Assert.True(retry.AlreadyBilled);
        await queue.DisposeAsync();
        Assert.True(queue.Groups < queue.Records, $"{queue.Groups} groups for {queue.Records} records");
        using var ws = LedgerWorkspace.Open(_workspace, null);
        var balances = ws.Store.ReadAccounts().ToDictionary(a => a.Id, a => a.Balance);
        for (int c = 0; c < 6; c++)
        {
            int spent = Enumerable.Range(0, 48).Where(i => i % 6 == c).Sum(i => 3 + 2 * i);
            Assert.Equal(1000 - spent, balances[$"user:{c}"]);
        }
        Assert.Equal(0, balances["user:broke"]);
        using var tables = RewardStore.Open(ws);
        var report = RewardsVerifier.Verify(ws.Store, tables);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.Equal(48, report.Inferences);
    }

    [Fact]
    public async Task EachGroupIsOneCommit_WithItsRewardRowsInIt()
    {
        using var pool = new MeteringPool(_workspace, null);
        var queue = new GroupCommitQueue(pool);
        var calls = Enumerable.Range(0, 24).Select(i => queue.MeterAsync(Record($"one-{i}", $"user:{i % 6}", 1, 1)));
        await Task.WhenAll(calls);
        await queue.DisposeAsync();
        // One durable commit per group: the reward tables were projected inside the group's own transaction, not in
        // a second commit after it (two per group before).
        Assert.Equal(queue.Stages.Groups, queue.Stages.Commits);
        using var ws = LedgerWorkspace.Open(_workspace, null);
        using var tables = RewardStore.Open(ws);
        // Read without syncing: the rows are there because they committed with the entries.
        Assert.Equal(24, tables.ReadInferences().Count);
        var report = RewardsVerifier.Verify(ws.Store, tables);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
    }

    [Fact]
    public async Task AGroupWhoseRewardRowsFail_IsNotAcknowledged_AndLeavesNothingOnTheLedger()
    {
        using var pool = new MeteringPool(_workspace, null);
        var queue = new GroupCommitQueue(pool);
        long before;
        using (var ws = LedgerWorkspace.Open(_workspace, null))
        {
            before = ws.Store.Count();
            // The reward tables are written in the group's transaction: breaking them must sink the whole group.
            using var db = ws.OpenDatabase();
            ModelLedger.Ledger.Storage.DbCommands.Execute(db, "DROP TABLE reward_accruals");
        }
        var calls = Enumerable.Range(0, 6).Select(i => queue.MeterAsync(Record($"sunk-{i}", $"user:{i}", 5, 5)))
            .ToList();
        foreach (var call in calls) await Assert.ThrowsAnyAsync<Exception>(() => call);
        await queue.DisposeAsync();
        using var after = LedgerWorkspace.Open(_workspace, null);
        Assert.Equal(before, after.Store.Count());
        var balances = after.Store.ReadAccounts().ToDictionary(a => a.Id, a => a.Balance);
        Assert.All(Enumerable.Range(0, 6), i => Assert.Equal(1000, balances[$"user:{i}"]));
    }
}
