using System.Text.Json.Nodes;
using ModelLedger.Testing;

namespace ModelLedger.Server.Management;

public sealed class OpenApiAndServedTests(ManagementServerFixture server) : IClassFixture<ManagementServerFixture>
{
    [Fact]
    public async Task OpenApi_DocumentsEveryRouteWithASummary()
    {
        var response = await server.Http.GetAsync("/openapi", TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
        Assert.StartsWith("3.", document["openapi"]!.GetValue<string>(), StringComparison.Ordinal);
        var paths = document["paths"]!.AsObject();
        // The routes the brief asks for, written out here rather than read back from the server's route table.
        (string Path, string Method)[] expected =
        [
            ("/v1/models", "get"), ("/v1/chat/completions", "post"), ("/v1/completions", "post"),
            ("/v1/adapters", "get"), ("/v1/adapters", "post"), ("/v1/adapters/{name}", "delete"), ("/v1/contributors", "get"), ("/v1/contributors", "post"),
            ("/v1/datanets", "get"), ("/v1/datanets", "post"), ("/v1/datanets/{name}", "get"),
            ("/v1/datanets/{name}/contributions", "post"), ("/v1/datanets/{name}/snapshot", "post"),
            ("/v1/jobs", "get"), ("/v1/jobs/train", "post"), ("/v1/jobs/predict", "post"), ("/v1/jobs/export", "post"),
            ("/v1/jobs/{id}", "get"),
            ("/v1/jobs/{id}/events", "get"), ("/v1/jobs/{id}/cancel", "post"), ("/v1/jobs/{id}/logs", "get"),
            ("/v1/ledger", "get"), ("/v1/ledger/entries", "get"), ("/v1/ledger/entries/{index}", "get"),
            ("/v1/ledger/entries/by-hash/{leafHash}", "get"), ("/v1/ledger/checkpoint", "get"),
            ("/v1/ledger/checkpoint", "post"), ("/v1/ledger/proofs/inclusion", "get"),
            ("/v1/ledger/proofs/consistency", "get"), ("/v1/rewards/policy", "get"), ("/v1/rewards/policy", "put"),
            ("/v1/rewards/epochs", "get"), ("/v1/rewards/epochs/{epoch}", "get"),
            ("/v1/rewards/epochs/{epoch}/settle", "post"), ("/v1/rewards/balances", "get"),
            ("/v1/inferences/{id}/attribution", "get"), ("/v1/keys", "post"),
            // the GUI's own routes (Gui/GuiApi.cs, Gui/GuiExports.cs, Gui/GuiChatAttribution.cs)
            ("/v1/gui/session", "get"), ("/v1/gui/train-form", "get"), ("/v1/gui/jobs/{id}/predictions", "get"),
            ("/v1/gui/checkpoint", "get"), ("/v1/gui/exports", "post"), ("/v1/gui/exports/{id}/download", "get"),
            ("/v1/gui/rag", "post"), ("/v1/gui/spans", "post"),
        ];
        foreach (var (path, method) in expected)
        {
            Assert.True(paths[path]?[method] is JsonObject, $"{method.ToUpperInvariant()} {path} is not documented");
            Assert.False(string.IsNullOrWhiteSpace(paths[path]![method]!["summary"]?.GetValue<string>()),
                $"{method.ToUpperInvariant()} {path} has no summary");
        }
        // Nothing undocumented slipped in (the catch-all 404 route is left out on purpose).
        int operations = paths.Sum(p => p.Value!.AsObject().Count(o => o.Key is "get" or "post" or "put" or "delete"));
        Assert.Equal(expected.Length, operations);
    }

    [Fact]
    public async Task Adapters_ListTheBaseWithItsConfig()
    {
        var (status, body) = await server.GetAsync("/v1/adapters", server.Consumer);
        Assert.Equal(200, status);
        Assert.Equal("TinyStories-656K", body!["base"]!["name"]!.GetValue<string>());
        // testdata/models/TinyStories-656K/config.json: a llama with hidden size 128.
        Assert.Equal(128, body["base"]!["config"]!["hidden_size"]!.GetValue<int>());
        Assert.Empty(body["adapters"]!.AsArray());
    }

    [Fact]
    public async Task Adapters_LoadAndUnloadAtRunTime()
    {
        var lora = TestAdapters.RandomLora(server.Dir.Sub("loaded"), seed: 5);
        var load = new JsonObject { ["name"] = "late", ["path"] = lora };
        Assert.Equal(403, (await server.PostAsync("/v1/adapters", server.Trainer, load)).Status);
        var (status, loaded) = await server.PostAsync("/v1/adapters", server.Admin, load);
        Assert.True(status == 201, loaded?.ToJsonString());
        Assert.Equal("TinyStories-656K:late", loaded!["model"]!.GetValue<string>());
        Assert.Equal(409, (await server.PostAsync("/v1/adapters", server.Admin, load)).Status);
        var (_, models) = await server.GetAsync("/v1/models", server.Consumer);
        Assert.Contains(models!["data"]!.AsArray(), m => m!["id"]!.GetValue<string>() == "TinyStories-656K:late");
        var call = new JsonObject { ["model"] = "TinyStories-656K:late", ["prompt"] = "Once", ["max_tokens"] = 2 };
        var (answered, answer) = await server.PostAsync("/v1/completions", server.Consumer, call);
        Assert.True(answered == 200, answer?.ToJsonString());

        var (unloaded, _) = await server.SendAsync(HttpMethod.Delete, "/v1/adapters/late", server.Admin);
        Assert.Equal(200, unloaded);
        Assert.Equal(404, (await server.PostAsync("/v1/completions", server.Consumer, call)).Status);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Delete, "/v1/adapters/late", server.Admin)).Status);
        var missing = await server.PostAsync("/v1/adapters", server.Admin,
            new JsonObject { ["name"] = "none", ["path"] = server.Dir.Sub("empty") });
        Assert.Equal(400, missing.Status);
    }
}
