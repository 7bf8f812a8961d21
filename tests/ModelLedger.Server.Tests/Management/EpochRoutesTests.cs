using System.Text.Json.Nodes;

namespace ModelLedger.Server.Management;

public sealed class EpochRoutesTests(ManagementServerFixture server) : IClassFixture<ManagementServerFixture>
{
    [Fact]
    public async Task Settle_ClosesTheEpochWithTheCallsFees_Once()
    {
        var (status, completion) = await server.PostAsync("/v1/completions", server.Consumer, new JsonObject
        {
            ["model"] = "TinyStories-656K", ["prompt"] = "Once upon a time", ["max_tokens"] = 4,
        });
        Assert.True(status == 200, completion?.ToJsonString());
        // The fixture's unit policy prices 1,000 per 1,000 tokens both ways: the fee is the call's token count.
        long fee = completion!["usage"]!["total_tokens"]!.GetValue<long>();

        Assert.Equal(403, (await server.SendAsync(HttpMethod.Post, "/v1/rewards/epochs/1/settle", server.Trainer))
            .Status);
        var (settledStatus, settled) = await server.SendAsync(HttpMethod.Post, "/v1/rewards/epochs/1/settle",
            server.Admin);
        Assert.True(settledStatus == 200, settled?.ToJsonString());
        Assert.Equal("settled", settled!["state"]!.GetValue<string>());
        Assert.Equal(1, settled["inferences"]!.GetValue<int>());
        Assert.Equal(fee.ToString(System.Globalization.CultureInfo.InvariantCulture),
            settled["fees"]!.GetValue<string>());
        var (_, again) = await server.SendAsync(HttpMethod.Post, "/v1/rewards/epochs/1/settle", server.Admin);
        Assert.Equal("closed", again!["state"]!.GetValue<string>());

        var (_, epochs) = await server.GetAsync("/v1/rewards/epochs", server.Consumer);
        Assert.Equal(["1 closed", "2 open"], epochs!["data"]!.AsArray().Select(e =>
            $"{e!["epoch"]} {e["state"]!.GetValue<string>().Split(' ')[0]}"));
    }
}
