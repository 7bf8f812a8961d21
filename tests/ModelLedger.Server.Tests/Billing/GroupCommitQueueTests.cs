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
}
