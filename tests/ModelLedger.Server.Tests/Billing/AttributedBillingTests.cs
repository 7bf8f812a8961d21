using System.ClientModel;
using System.Text.Json;
using ModelLedger.Attribution.Influence;
using ModelLedger.Datanets;
using ModelLedger.Jobs;
using ModelLedger.Jobs.Train;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Policy;
using ModelLedger.Server.Keys;
using ModelLedger.Testing;
using ModelLedger.Tuning.Config;
using OpenAI;
using OpenAI.Chat;

namespace ModelLedger.Server.Billing;

/// <summary>A served adapter trained with <c>attribution: true</c> has a gradient index, so its billed calls carry
/// training attribution (they were billed with empty scores while the hook lived in the CLI).</summary>
public sealed class AttributedBillingTests
{
    [Fact]
    [Trait("speed", "slow")]
    public async Task Chat_ThroughAnIndexedAdapter_IsBilledWithItsTrainingAttribution()
    {
        using var dir = new TempDirectory();
        var workspace = dir.Sub("ws");
        var adapter = dir.File("out");
        string root, key;
        using (var ws = LedgerWorkspace.Init(workspace, "test.example/attributed", null))
        using (var tables = RewardStore.Open(ws))
        using (var service = new DatanetService(ws))
        using (var keys = ApiKeyStore.Open(ws))
        {
            ws.Service.CreateAccount("mint", allowNegative: true);
            PolicyBook.Set(ws, tables, BillingBenchmark.UnitPolicy(), "test");
            PolicyBook.EnsureAccounts(ws, ["user:bob"]);
            ws.Service.Transfer([new Transfer("fund:bob", "mint", "user:bob", 100_000)]);
            key = keys.Create(KeyRole.Consumer, "user:bob", DateTimeOffset.UtcNow).Text;
            File.WriteAllText(dir.File("alice.jsonl"), """
                {"instruction":"Describe the red kettle","input":"","output":"A shiny red kettle that boils water fast."}
                {"instruction":"Name a fruit","input":"","output":"An apple is a sweet crunchy fruit."}
                """);
            File.WriteAllText(dir.File("carl.jsonl"), """
                {"instruction":"Tell me about the sea","input":"","output":"The sea is wide, deep and full of fish."}
                {"instruction":"Write a slogan for blue shoes","input":"","output":"Blue shoes make every step feel light."}
                """);
            service.CreateContributor("alice");
            service.CreateContributor("carl");
            service.CreateDatanet("ads", DatanetFormat.Alpaca, null, null, null);
            foreach (var who in new[] { "alice", "carl" }) service.Add("ads", [dir.File($"{who}.jsonl")], who);
            root = service.Snapshot("ads", dir.File("snap")).Root;
        }
        var config = TrainConfig.From(RawConfig.Parse($"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            lora_rank: 2
            dataset: ads
            dataset_dir: {dir.File("snap")}
            template: alpaca
            cutoff_len: 128
            learning_rate: 1.0e-2
            max_steps: 1
            per_device_train_batch_size: 4
            attribution: true
            output_dir: {adapter}
            """, "train.yaml", []));
        new TrainJob().Run(new TrainRequest(config), new Silent(), TestContext.Current.CancellationToken);

        const string prompt = "Describe the red kettle";
        string answer;
        await using (var server = await ServerHost.StartAsync(new ServerOptions
        {
            Port = 0, ModelDirectory = TestPaths.TinyStories, Workspace = workspace,
            Adapters = new Dictionary<string, string> { ["ads"] = adapter },
            Limits = new ServerLimits { MaxTokens = 8 },
        }, ct: TestContext.Current.CancellationToken))
        {
            var client = new ChatClient("TinyStories-656K:ads", new ApiKeyCredential(key),
                new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });
            var completion = (await client.CompleteChatAsync([new UserChatMessage(prompt)],
                new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8 },
                TestContext.Current.CancellationToken)).Value;
            answer = completion.Content[0].Text;
            using var http = new HttpClient { BaseAddress = server.Address };
            http.DefaultRequestHeaders.Authorization = new("Bearer", key);
            var served = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("/v1/adapters",
                TestContext.Current.CancellationToken))!;
            Assert.True(served["adapters"]![0]!["attribution_index"]!.GetValue<bool>());
        }

        JsonElement attribution;
        using (var ws = LedgerWorkspace.Open(workspace, null))
        {
            var events = ws.Store.ReadEntries(0).Select(e => JsonDocument.Parse(e.Leaf).RootElement.Clone())
                .Where(e => e.GetProperty("type").GetString() == "attribution").ToList();
            attribution = Assert.Single(events).GetProperty("payload");
        }
        Assert.Equal(InfluenceAttributor.MethodName(IndexAttributionHook.Score),
            attribution.GetProperty("method").GetString());
        Assert.Equal(root, attribution.GetProperty("index_root").GetString());
        var scores = attribution.GetProperty("scores").EnumerateObject()
            .ToDictionary(s => s.Name, s => s.Value.GetDouble());
        // The reference: what `mledger attribute` computes for the same exchange from the same index (the user turn
        // as the prompt, the served answer as the response).
        using var attributor = InfluenceAttributor.Open(Path.Combine(adapter, "attribution"), TestPaths.TinyStories,
            adapter);
        var expected = attributor.Attribute(prompt, answer, 0, IndexAttributionHook.Score).Contributors;
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(c => c.Contributor).Order(), scores.Keys.Order());
        foreach (var c in expected) Assert.Equal(c.Share, scores[c.Contributor], 12);
    }

    private sealed class Silent : IProgress<JobEvent>
    {
        public void Report(JobEvent value) { }
    }
}
