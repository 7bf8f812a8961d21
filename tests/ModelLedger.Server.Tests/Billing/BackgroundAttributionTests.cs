using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ModelLedger.Ledger;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Settlement;
using ModelLedger.Server.Keys;

namespace ModelLedger.Server.Billing;

/// <summary>An inference billed before its attribution (the server's background path): the attribution route says
/// pending, the epoch refuses to settle, and once the attribution event lands the route answers it, the fee split
/// accrues from it, the epoch settles and the rewards verifier replays it all.</summary>
public sealed class BackgroundAttributionTests(BilledServerFixture fixture) : IClassFixture<BilledServerFixture>
{
    private async Task<HttpResponseMessage> Get(string path, string key)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.GetAsync(new Uri(fixture.Server.Address, path), TestContext.Current.CancellationToken);
    }

    private static async Task<JsonElement> Json(HttpResponseMessage r) =>
        JsonDocument.Parse(await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;

    private static InferenceRecord Record(string id, string caller, IReadOnlyDictionary<string, double> training) =>
        new(id, "tiny", null, null, caller, 20, 30, training, [], training.Count == 0 ? "none" : "test", "none");

    [Fact]
    public async Task Attribution_IsPendingUntilItLands_AndTheEpochSettlesOnlyThen()
    {
        var key = fixture.NewKey(KeyRole.Consumer, 1000, out var account);
        var empty = new Dictionary<string, double>();
        using (var ws = LedgerWorkspace.Open(fixture.Workspace, null))
        using (var tables = RewardStore.Open(ws))
        {
            var metering = new BatchMetering(ws, tables);
            var billed = metering.MeterMany([Record("bg-1", account, empty), Record("bg-2", account, empty)],
                attributed: false);
            Assert.All(billed, b => Assert.Null(b.Error));
            var pending = await Get("/v1/inferences/bg-1/attribution", key);
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
            Assert.Equal("pending", (await Json(pending)).GetProperty("status").GetString());
            var refused = Assert.Throws<UserError>(() => EpochSettler.Settle(ws, tables, 1, "admin"));
            Assert.Contains("bg-1, bg-2", refused.Message, StringComparison.Ordinal);

            var alice = new Dictionary<string, double> { ["alice"] = 1.0 };
            var errors = metering.AttributeMany([Record("bg-1", account, alice), Record("bg-2", account, alice)]);
            Assert.All(errors, Assert.Null);
        }
        var done = await Get("/v1/inferences/cmpl-bg-1/attribution", key);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var answer = await Json(done);
        Assert.Equal("done", answer.GetProperty("status").GetString());
        Assert.Equal(1.0, answer.GetProperty("attribution").GetProperty("event").GetProperty("scores")
            .GetProperty("alice").GetDouble());
        // Fee 20 + 30 = 50 units (1,000 per 1,000 tokens); training is 50 % of it (UnitPolicy's 5,000 bps): 25 to
        // alice, and the slices add up to the fee.
        var accruals = answer.GetProperty("accruals").EnumerateArray().ToList();
        Assert.Equal(50, accruals.Sum(a => int.Parse(a.GetProperty("amount").GetString()!,
            System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains(accruals, a => a.GetProperty("role").GetString() == "training"
            && a.GetProperty("source").GetString() == "alice"
            && a.GetProperty("account").GetString() == "contributor:alice" && a.GetProperty("amount").GetString() == "25");
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/v1/inferences/bg-unknown/attribution", key)).StatusCode);

        using (var ws = LedgerWorkspace.Open(fixture.Workspace, null))
        using (var tables = RewardStore.Open(ws))
        {
            var (settlement, already) = EpochSettler.Settle(ws, tables, 1, "admin");
            Assert.False(already);
            Assert.Equal(2, settlement.Inferences);
            var report = RewardsVerifier.Verify(ws.Store, tables);
            Assert.True(report.Ok, string.Join("; ", report.Problems));
        }
    }
}
