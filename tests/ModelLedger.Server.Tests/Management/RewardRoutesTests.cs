using System.Text.Json.Nodes;

namespace ModelLedger.Server.Management;

public sealed class RewardRoutesTests(ManagementServerFixture server) : IClassFixture<ManagementServerFixture>
{
    // docs/rewards.md's policy shape: a default price, the split in basis points summing to 10,000.
    private const string Policy = """
        version: 1
        prices:
          default: {prompt: 2000, completion: 3000}
        split_bps: {training: 4000, documents: 2000, adapter_owner: 2000, treasury: 2000}
        """;

    [Fact]
    public async Task Policy_IsReadByAnyone_AndSetByAnAdminOnce()
    {
        var (_, before) = await server.GetAsync("/v1/rewards/policy", server.Consumer);
        Assert.Equal(1, before!["version"]!.GetValue<long>());
        // The fixture's unit policy: 1,000 per 1,000 tokens either way.
        Assert.Equal("1000", before["policy"]!["prices"]!["default"]!["prompt"]!.GetValue<string>());

        Assert.Equal(403, (await server.SendAsync(HttpMethod.Put, "/v1/rewards/policy", server.Trainer,
            ManagementServerFixture.Yaml(Policy))).Status);
        var (status, set) = await server.SendAsync(HttpMethod.Put, "/v1/rewards/policy", server.Admin,
            ManagementServerFixture.Yaml(Policy));
        Assert.True(status == 200, set?.ToJsonString());
        Assert.Equal(2, set!["version"]!.GetValue<long>());
        Assert.True(set["changed"]!.GetValue<bool>());
        var (_, same) = await server.SendAsync(HttpMethod.Put, "/v1/rewards/policy", server.Admin,
            ManagementServerFixture.Yaml(Policy));
        Assert.False(same!["changed"]!.GetValue<bool>());
        var (_, after) = await server.GetAsync("/v1/rewards/policy", server.Consumer);
        Assert.Equal("3000", after!["policy"]!["prices"]!["default"]!["completion"]!.GetValue<string>());
    }

    [Fact]
    public async Task Policy_WithAProblem_Is400NamingTheField()
    {
        var (status, body) = await server.SendAsync(HttpMethod.Put, "/v1/rewards/policy", server.Admin,
            ManagementServerFixture.Yaml(Policy.Replace("training: 4000", "training: 5000", StringComparison.Ordinal)));
        Assert.Equal(400, status);
        Assert.Contains("split_bps", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Epochs_ShowTheOpenOne_AndBalancesTheFundedAccount()
    {
        var (_, epochs) = await server.GetAsync("/v1/rewards/epochs", server.Consumer);
        var open = Assert.Single(epochs!["data"]!.AsArray());
        Assert.Equal(1, open!["epoch"]!.GetValue<long>());
        Assert.StartsWith("open", open["state"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, (await server.GetAsync("/v1/rewards/epochs/1", server.Alice)).Body!["epoch"]!.GetValue<long>());
        Assert.Equal(404, (await server.GetAsync("/v1/rewards/epochs/7", server.Alice)).Status);
        var (_, balances) = await server.GetAsync("/v1/rewards/balances", server.Consumer);
        var consumer = balances!["accounts"]!.AsArray().Single(a => a!["id"]!.GetValue<string>() == "user:consumer");
        // Funded with 1,000,000 by the fixture; no call has been made in this class.
        Assert.Equal("1000000", consumer!["balance"]!.GetValue<string>());
    }
}
