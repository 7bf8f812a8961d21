using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelLedger.Server.Management;

public sealed class DatanetRoutesTests(ManagementServerFixture server) : IClassFixture<ManagementServerFixture>
{
    private static JsonObject Record(string instruction, string output) =>
        new() { ["instruction"] = instruction, ["input"] = "", ["output"] = output };

    private async Task CreateAsync(string name)
    {
        var (status, body) = await server.PostAsync("/v1/datanets", server.Trainer,
            new JsonObject { ["name"] = name, ["format"] = "alpaca", ["license"] = "cc-by-4.0" });
        Assert.True(status == 201, body?.ToJsonString());
    }

    [Fact]
    public async Task Contributions_AnswerEachRecord_AndTheSnapshotIsOnTheLedger()
    {
        await CreateAsync("ads");
        var records = new JsonArray(Record("Describe the red kettle", "A shiny red kettle that boils water fast."),
            Record("Name a fruit", "An apple is a sweet crunchy fruit."),
            Record("Describe the red kettle", "A shiny red kettle that boils water fast."));
        var (status, body) = await server.PostAsync("/v1/datanets/ads/contributions", server.Alice,
            new JsonObject { ["contributor"] = "alice", ["records"] = records });
        Assert.True(status == 200, body?.ToJsonString());
        var rows = body!["records"]!.AsArray();
        Assert.Equal(["accepted", "accepted", "rejected"], rows.Select(r => r!["status"]!.GetValue<string>()));
        // Record 3 repeats record 1 byte for byte: an exact duplicate of the item record 1 became.
        Assert.Equal("duplicate", rows[2]!["code"]!.GetValue<string>());
        Assert.Equal(rows[0]!["item"]!.GetValue<string>(), rows[2]!["duplicate_of"]!.GetValue<string>());
        Assert.Equal(2, body["accepted"]!.GetValue<int>());

        var (_, shown) = await server.GetAsync("/v1/datanets/ads", server.Consumer);
        Assert.Equal(2, shown!["items"]!.GetValue<long>());
        Assert.Equal(2, shown["contributors"]!["alice"]!.GetValue<long>());
        var (_, list) = await server.GetAsync("/v1/datanets", server.Consumer);
        Assert.Contains(list!["data"]!.AsArray(), d => d!["name"]!.GetValue<string>() == "ads");

        var (snapStatus, snapshot) = await server.SendAsync(HttpMethod.Post, "/v1/datanets/ads/snapshot",
            server.Trainer);
        Assert.True(snapStatus == 200, snapshot?.ToJsonString());
        var root = snapshot!["root"]!.GetValue<string>();
        Assert.Equal(2, snapshot["items"]!.GetValue<long>());
        // The folder holds what the response says, and the ledger entry its leaf hash names records the same root.
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(snapshot["folder"]!.GetValue<string>(),
            "snapshot.json")))!;
        Assert.Equal(root, written["root"]!.GetValue<string>());
        var (_, entry) = await server.GetAsync(
            $"/v1/ledger/entries/by-hash/{snapshot["leaf_hash"]!.GetValue<string>()}", server.Consumer);
        Assert.Equal("datanet.snapshot", entry!["event"]!["type"]!.GetValue<string>());
        Assert.Equal(root, entry["event"]!["payload"]!["root"]!.GetValue<string>());
        // Snapshotting the same items again is the same snapshot, not a second entry.
        var (_, again) = await server.SendAsync(HttpMethod.Post, "/v1/datanets/ads/snapshot", server.Trainer);
        Assert.Equal(snapshot["leaf_hash"]!.GetValue<string>(), again!["leaf_hash"]!.GetValue<string>());
    }

    [Fact]
    public async Task Contributions_AcceptAFileUpload()
    {
        await CreateAsync("uploads");
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("alice"), "contributor");
        var file = new StringContent(Record("Tell me about the sea", "The sea is wide, deep and full of fish.")
            .ToJsonString() + "\n", Encoding.UTF8);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        form.Add(file, "file", "sea.jsonl");
        var (status, body) = await server.SendAsync(HttpMethod.Post, "/v1/datanets/uploads/contributions",
            server.Alice, form);
        Assert.True(status == 200, body?.ToJsonString());
        var row = Assert.Single(body!["records"]!.AsArray());
        Assert.Equal("sea.jsonl", row!["file"]!.GetValue<string>());
        Assert.Equal("accepted", row["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Contributions_WithABadRecord_Are400NamingTheLineAndWriteNothing()
    {
        await CreateAsync("strict");
        var records = new JsonArray(Record("Name a colour", "Blue is the colour of the sky."),
            new JsonObject { ["instruction"] = "No output here" });
        var (status, body) = await server.PostAsync("/v1/datanets/strict/contributions", server.Admin,
            new JsonObject { ["contributor"] = "bob", ["records"] = records });
        Assert.Equal(400, status);
        var message = body!["error"]!["message"]!.GetValue<string>();
        Assert.Contains("records.jsonl", message, StringComparison.Ordinal);
        Assert.Contains("output", message, StringComparison.Ordinal);
        var (_, shown) = await server.GetAsync("/v1/datanets/strict", server.Admin);
        Assert.Equal(0, shown!["items"]!.GetValue<long>());
    }

    [Fact]
    public async Task Routes_RefuseRolesThatMayNot()
    {
        await CreateAsync("guarded");
        var asBob = await server.PostAsync("/v1/datanets/guarded/contributions", server.Alice, new JsonObject
        {
            ["contributor"] = "bob", ["records"] = new JsonArray(Record("Hi", "Hello there, friend.")),
        });
        Assert.Equal(403, asBob.Status);
        Assert.Equal("permission_error", asBob.Body!["error"]!["type"]!.GetValue<string>());
        var byConsumer = await server.PostAsync("/v1/datanets", server.Consumer,
            new JsonObject { ["name"] = "mine", ["format"] = "text" });
        Assert.Equal(403, byConsumer.Status);
        Assert.Contains("consumer", byConsumer.Body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var snapshot = await server.SendAsync(HttpMethod.Post, "/v1/datanets/guarded/snapshot", server.Alice);
        Assert.Equal(403, snapshot.Status);
        var missing = await server.GetAsync("/v1/datanets/nowhere", server.Consumer);
        Assert.Equal(404, missing.Status);
        var noKey = await server.Http.GetAsync("/v1/datanets", TestContext.Current.CancellationToken);
        Assert.Equal(401, (int)noKey.StatusCode);
    }
}
