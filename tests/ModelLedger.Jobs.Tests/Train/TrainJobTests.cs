using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;
using ModelLedger.Testing;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Jobs.Train;

[Collection(Collections.TorchRng)]
public sealed class TrainJobTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private TrainConfig Config(string output, string datasetDir, int steps = 6) =>
        TrainConfig.From(RawConfig.Parse($$"""
            {"model_name_or_path": "{{TestPaths.TinyStories}}", "dataset": "stories", "dataset_dir": "{{datasetDir}}",
             "template": "alpaca", "cutoff_len": 96, "learning_rate": 1e-2, "max_steps": {{steps}},
             "per_device_train_batch_size": 4, "logging_steps": 2, "save_steps": 100, "seed": 3,
             "output_dir": "{{Path.Combine(_dir.Path, output)}}"}
            """, "test.json", []));

    [Fact]
    public void Events_StepsAreMonotone_AndTheStreamEndsWithTheResult()
    {
        var events = new List<JobEvent>();
        var result = new TrainJob().Run(new TrainRequest(Config("run", TestPaths.Datasets)), new JobEvents(events.Add),
            CancellationToken.None);
        var steps = events.OfType<StepEvent>().ToList();
        Assert.Equal([1, 2, 3, 4, 5, 6], steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.Equal(6, s.Total));
        Assert.All(steps, s => Assert.True(s.Loss > 0 && s.TokensPerSecond > 0 && s.EtaSeconds >= 0));
        Assert.Equal(0, steps[^1].EtaSeconds);
        Assert.Equal(["checking", "loading model", "reading data", "preparing", "training", "saving"],
            events.OfType<PhaseEvent>().Select(p => p.Phase));
        var last = Assert.IsType<ResultEvent>(events[^1]);
        Assert.Equal(6, last.Result["run"]!["steps"]!.GetValue<int>());
        Assert.Equal(result.WeightsHash, last.Result["weights_hash"]!.GetValue<string>());
        Assert.False(result.Run.Interrupted);
        // independent check: SHA-256 of the one weights file the LoRA run saved
        var adapter = Path.Combine(result.OutputDir, "adapter_model.safetensors");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(adapter))), result.WeightsHash);
    }

    [Fact]
    public void Cancellation_EndsWithACheckpoint_AndNoResultHash()
    {
        using var cancel = new CancellationTokenSource();
        var events = new List<JobEvent>();
        var result = new TrainJob().Run(new TrainRequest(Config("cancelled", TestPaths.Datasets)), new JobEvents(e =>
        {
            events.Add(e);
            if (e is StepEvent { Step: 2 }) cancel.Cancel();
        }), cancel.Token);
        Assert.True(result.Run.Interrupted);
        Assert.Equal(2, result.Run.Steps);
        Assert.NotNull(result.Run.Checkpoint);
        Assert.True(File.Exists(Path.Combine(result.Run.Checkpoint, "trainer_state.json")));
        Assert.Null(result.WeightsHash);
        Assert.Equal(2, events.OfType<StepEvent>().Max(s => s.Step));
        Assert.IsType<ResultEvent>(events[^1]);
    }

    [Fact]
    public void Events_RoundTripThroughJsonLines()
    {
        JobEvent[] events = [new PhaseEvent("training"), new StepEvent(3, 8, 2.5, 100, 12), new MessageEvent("hi"),
            new ResultEvent(new JsonObject { ["a"] = 1 })];
        var lines = events.Select(JobEventJson.Write).ToList();
        Assert.Equal("""{"type":"step","step":3,"total":8,"loss":2.5,"tokens_per_second":100,"eta_seconds":12}""", lines[1]);
        var back = lines.Select(JobEventJson.Read).ToList();
        Assert.Equal(events.Take(3), back.Take(3));
        Assert.Equal("""{"a":1}""", ((ResultEvent)back[3]).Result.ToJsonString());
        Assert.Throws<UserError>(() => JobEventJson.Read("step 3/8"));
    }

    [Fact]
    public void Workspace_RecordsTrainingRun_WithSnapshotRootAndRef()
    {
        var workspace = Path.Combine(_dir.Path, "ledger");
        string snapshotLeaf;
        const string root = "5e0d0b8b5a3cf2b1e0a4a8e1b5e7f9c2d3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8";
        using (var ledger = LedgerWorkspace.Init(workspace, "test", null))
            snapshotLeaf = ledger.Service.Append("datanet.snapshot", "alice", $$"""{"datanet":"stories","root":"{{root}}"}""").LeafHash;
        var data = Path.Combine(_dir.Path, "snapshot");
        Directory.CreateDirectory(data);
        foreach (var file in Directory.GetFiles(TestPaths.Datasets)) File.Copy(file, Path.Combine(data, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(data, "snapshot.json"), $$"""
            {"version":1,"datanet":"stories","format":"alpaca","root":"{{root}}","items":48,
             "ledger_leaf_hash":"{{snapshotLeaf}}","created":"2026-12-01T00:00:00Z"}
            """);
        var config = Config("recorded", data, steps: 2);
        var result = new TrainJob().Run(new TrainRequest(config, workspace), JobEvents.None, CancellationToken.None);
        Assert.NotNull(result.Ledger);
        using var reopened = LedgerWorkspace.Open(workspace, null);
        var (entry, _, _) = reopened.Service.Read(result.Ledger.Index);
        Assert.Equal("training.run", entry.Type);
        Assert.Equal([snapshotLeaf], entry.Refs);
        var payload = JsonNode.Parse(entry.Payload)!;
        Assert.Equal(root, payload["datanet_root"]!.GetValue<string>());
        Assert.Equal(result.WeightsHash, payload["adapter_hash"]!.GetValue<string>());
        // config_hash: SHA-256 of the canonical config as --print-config prints it
        var canonical = config.ToCanonicalJson().ToJsonString();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical))),
            payload["config_hash"]!.GetValue<string>());
        Assert.Equal(2, payload["metrics"]!["train_steps"]!.GetValue<int>());
    }

    [Fact]
    public void Workspace_WithoutTheSnapshotEntry_IsRefusedBeforeTraining()
    {
        var workspace = Path.Combine(_dir.Path, "empty-ledger");
        LedgerWorkspace.Init(workspace, "test", null).Dispose();
        var data = Path.Combine(_dir.Path, "foreign");
        Directory.CreateDirectory(data);
        foreach (var file in Directory.GetFiles(TestPaths.Datasets)) File.Copy(file, Path.Combine(data, Path.GetFileName(file)));
        var leaf = new string('a', 64);
        File.WriteAllText(Path.Combine(data, "snapshot.json"),
            $$"""{"version":1,"datanet":"s","format":"alpaca","root":"{{leaf}}","items":1,"ledger_leaf_hash":"{{leaf}}"}""");
        var config = Config("never", data);
        var error = Assert.Throws<UserError>(() =>
            new TrainJob().Run(new TrainRequest(config, workspace), JobEvents.None, CancellationToken.None));
        Assert.Equal("ledger_leaf_hash", error.Field);
        Assert.False(Directory.Exists(config.OutputDir));
    }

    [Fact]
    public void Attribution_IndexesEveryTrainingExample_BesideTheAdapter()
    {
        var config = TrainConfig.From(RawConfig.Parse($$"""
            {"model_name_or_path": "{{TestPaths.TinyStories}}", "dataset": "stories", "dataset_dir":
             "{{TestPaths.Datasets}}", "template": "alpaca", "cutoff_len": 96, "max_samples": 6, "max_steps": 4,
             "per_device_train_batch_size": 2, "save_steps": 2, "attribution": true,
             "output_dir": "{{Path.Combine(_dir.Path, "attributed")}}"}
            """, "test.json", []));
        var events = new List<JobEvent>();
        var result = new TrainJob().Run(new TrainRequest(config), new JobEvents(events.Add), CancellationToken.None);
        Assert.Contains(events.OfType<PhaseEvent>(), p => p.Phase == "attribution index");
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(result.OutputDir, "attribution", "index.json")));
        // 6 = max_samples above: every record of the run is one indexed example
        Assert.Equal(6, manifest.RootElement.GetProperty("examples").GetInt32());
        // the recorded weights hash stays the adapter's own SHA-256 (the index is not part of the weights)
        var adapter = Path.Combine(result.OutputDir, "adapter_model.safetensors");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(adapter))), result.WeightsHash);
    }

    [Fact]
    public void Attribution_WithFullFineTuning_IsRefusedBeforeTraining()
    {
        var error = Assert.Throws<UserError>(() => TrainConfig.From(RawConfig.Parse($$"""
            {"model_name_or_path": "m", "dataset": "d", "finetuning_type": "full", "attribution": true,
             "output_dir": "o"}
            """, "test.json", [])));
        Assert.Contains("attribution", error.Describe(), StringComparison.Ordinal);
    }
}
