using System.Text.Json;
using ModelLedger.Datanets;
using ModelLedger.Ledger;
using ModelLedger.Testing;
using static ModelLedger.Cli.Commands.CliJson;

namespace ModelLedger.Cli.Commands;

/// <summary>The seams between datanets, training, the ledger and RAG attribution, run through the real binary.</summary>
public sealed class DatanetWiringTests
{
    [Fact]
    public void RagAsk_OnADatanet_ReturnsItsItemsWithTheirContributors()
    {
        using var dir = new TempDirectory();
        var workspace = dir.File("ws");
        File.WriteAllText(dir.File("alice.jsonl"), """{"title":"Cat","text":"The cat sat on the mat. The cat was happy."}""" + "\n");
        File.WriteAllText(dir.File("bob.jsonl"), """{"title":"Cat toy","text":"The cat had a toy mouse."}""" + "\n"
            + """{"title":"Dog","text":"The dog ran in the park."}""" + "\n");
        var owner = new Dictionary<string, string>();   // item id -> contributor, as intake reported it
        string root;
        using (var ws = LedgerWorkspace.Init(workspace, "test/wiring", null))
        using (var service = new DatanetService(ws))
        {
            service.CreateContributor("alice");
            service.CreateContributor("bob");
            service.CreateDatanet("docs", DatanetFormat.Documents, null, null, null);
            foreach (var who in new[] { "alice", "bob" })
                foreach (var item in service.Add("docs", [dir.File($"{who}.jsonl")], who).Items) owner[item] = who;
            // The root a snapshot records: rag must name the same one as its index.
            root = service.Snapshot("docs", dir.File("snap")).Root;
        }
        Assert.Equal(3, owner.Count);
        var result = Json(CliRunner.Run("rag", "ask", "--datanet", "docs", "--workspace", workspace, "--model",
            TestPaths.TinyStories, "--k", "3", "--max-new-tokens", "6", "--json", "Where did the cat sit?"));
        var documents = result.GetProperty("documents").EnumerateArray().ToList();
        // BM25 retrieves only documents sharing a term with the question: "cat" is in alice's and bob's first one.
        Assert.Equal(2, documents.Count);
        Assert.All(documents, d => Assert.Equal(owner[d.GetProperty("item").GetString()!], d.GetProperty("contributor").GetString()));
        Assert.Equal(["alice", "bob"], documents.Select(d => d.GetProperty("contributor").GetString()).Order());
        Assert.Equal(root, result.GetProperty("index_root").GetString());
        var wrong = CliRunner.Run("rag", "ask", "--datanet", "nope", "--workspace", workspace, "--model", TestPaths.TinyStories, "q");
        Assert.Equal(2, wrong.ExitCode);
        Assert.False(wrong.HasStackTrace, wrong.Stderr);
    }

    [Fact]
    public void TrainingOnASnapshot_LeadsBackThroughTheLedgerToBothContributors()
    {
        using var dir = new TempDirectory();
        string ws = dir.File("ws");
        string[] at = ["--workspace", ws];
        Assert.Equal(0, CliRunner.Run(["ledger", "init", "--origin", "test/e2e", .. at]).ExitCode);
        foreach (var who in new[] { "alice", "bob" })
            Assert.Equal(who, Json(CliRunner.Run(["contributor", "create", "--name", who, .. at, "--json"])).GetProperty("name").GetString());
        Assert.Equal(0, CliRunner.Run(["datanet", "create", "ads", "--format", "alpaca", .. at]).ExitCode);
        File.WriteAllText(dir.File("alice.jsonl"), """
            {"instruction":"Describe the red kettle","input":"","output":"A shiny red kettle that boils water fast."}
            {"instruction":"Name a fruit","input":"","output":"An apple is a sweet crunchy fruit."}
            """);
        File.WriteAllText(dir.File("bob.jsonl"), """
            {"instruction":"Write a slogan for blue shoes","input":"","output":"Blue shoes make every step feel light."}
            {"instruction":"Tell me about the sea","input":"","output":"The sea is wide, deep and full of fish."}
            """);
        foreach (var who in new[] { "alice", "bob" })
            Assert.Equal(2, Json(CliRunner.Run(["datanet", "add", "ads", dir.File($"{who}.jsonl"), "--contributor", who, .. at, "--json"]))
                .GetProperty("accepted").GetInt32());
        var snapshot = Json(CliRunner.Run(["datanet", "snapshot", "ads", "--out", dir.File("snap"), .. at, "--json"]));
        string root = snapshot.GetProperty("root").GetString()!;
        File.WriteAllText(dir.File("train.yaml"), $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            lora_rank: 2
            dataset: ads
            dataset_dir: {snapshot.GetProperty("dataset_dir").GetString()}
            template: alpaca
            cutoff_len: 256
            max_steps: 2
            per_device_train_batch_size: 2
            output_dir: {dir.File("out")}
            """);
        var train = CliRunner.Run(["train", dir.File("train.yaml"), .. at]);
        Assert.True(train.ExitCode == 0, train.Stderr);
        // Entries 0-1 contributors, 2 datanet, 3-6 contributions, 7 the snapshot, 8 the run (counted by hand).
        var run = CliRunner.Run(["ledger", "show", "--index", "8", .. at]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("\"type\":\"training.run\"", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"\"datanet_root\":\"{root}\"", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("references entry 7 (datanet.snapshot)", run.Stdout, StringComparison.Ordinal);
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("snap"), "snapshot.json"))))
            Assert.Contains($"\"refs\":[\"{manifest.RootElement.GetProperty("ledger_leaf_hash").GetString()}\"]", run.Stdout,
                StringComparison.Ordinal);
        var shown = Json(CliRunner.Run(["datanet", "snapshot-show", root, .. at, "--json"]));
        Assert.Equal(["alice", "bob"], shown.GetProperty("contributors").EnumerateArray()
            .Select(c => c.GetProperty("name").GetString()).Order());
        Assert.All(shown.GetProperty("contributors").EnumerateArray(), c => Assert.Equal(2, c.GetProperty("items").GetInt32()));
    }
}
