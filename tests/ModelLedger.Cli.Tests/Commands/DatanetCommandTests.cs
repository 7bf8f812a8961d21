using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

public sealed class DatanetCommandTests
{
    private static CliResult Run(string workspace, params string[] args) => CliRunner.Run([.. args, "--workspace", workspace]);

    private static string Init(TempDirectory dir)
    {
        var ws = Path.Combine(dir.Path, "ws");
        Assert.Equal(0, CliRunner.Run("ledger", "init", "--workspace", ws, "--origin", "test.example/ledger").ExitCode);
        return ws;
    }

    [Fact]
    public void ContributorCreate_PrintsItsKey_KeepsThePrivateKey0600_AndNeverReplacesIt()
    {
        using var dir = new TempDirectory();
        var ws = Init(dir);
        var created = Run(ws, "contributor", "create", "--name", "alice", "--json");
        Assert.Equal(0, created.ExitCode);
        using var json = JsonDocument.Parse(created.Stdout);
        Assert.Equal("alice", json.RootElement.GetProperty("name").GetString());
        Assert.Equal(64, json.RootElement.GetProperty("public_key").GetString()!.Length);
        var keyFile = Path.Combine(ws, "contributors", "alice.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var before = File.ReadAllText(keyFile);
        var again = Run(ws, "contributor", "create", "--name", "alice");
        Assert.Equal(ExitCodes.UserError, again.ExitCode);
        Assert.False(again.HasStackTrace, again.Stderr);
        Assert.Equal(before, File.ReadAllText(keyFile));
        var list = Run(ws, "contributor", "list", "--json");
        Assert.Contains(json.RootElement.GetProperty("key_id").GetString()!, list.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_UnusableFile_ExitsTwoNamingIt()
    {
        using var dir = new TempDirectory();
        var ws = Init(dir);
        Run(ws, "contributor", "create", "--name", "alice");
        Run(ws, "datanet", "create", "qa", "--format", "alpaca");
        var file = dir.File("bad.jsonl");
        File.WriteAllText(file, "{\"instruction\": \"Say hi.\", \"output\": \"\"}\n");
        var result = Run(ws, "datanet", "add", "qa", file, "--contributor", "alice", "--json");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains($"error: {file}:1: output: is empty", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
        Assert.Contains("\"items\":0", Run(ws, "datanet", "show", "qa", "--json").Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Snapshot_TrainsEndToEnd_AndItsProvenanceWalksBackToTheContributors()
    {
        using var dir = new TempDirectory();
        var ws = Init(dir);
        foreach (var name in new[] { "alice", "bob" }) Assert.Equal(0, Run(ws, "contributor", "create", "--name", name).ExitCode);
        Assert.Equal(0, Run(ws, "datanet", "create", "stories", "--format", "alpaca", "--license", "cc-by-4.0").ExitCode);
        string Record(string who, string what) =>
            JsonSerializer.Serialize(new { instruction = $"Who has the {what}?", output = $"{who} has the {what}." });
        File.WriteAllLines(dir.File("alice.jsonl"), [Record("Lily", "ball"), Record("Tom", "kite"), Record("Sue", "book")]);
        File.WriteAllLines(dir.File("bob.jsonl"), [Record("Ben", "cat"), Record("Max", "hat"), Record("Lily", "ball")]);
        Assert.Equal(0, Run(ws, "datanet", "add", "stories", dir.File("alice.jsonl"), "--contributor", "alice").ExitCode);
        var bob = Run(ws, "datanet", "add", "stories", dir.File("bob.jsonl"), "--contributor", "bob", "--json");
        using (var added = JsonDocument.Parse(bob.Stdout))
        {
            Assert.Equal(2, added.RootElement.GetProperty("accepted").GetInt32());
            Assert.Equal(3, Assert.Single(added.RootElement.GetProperty("rejected").EnumerateArray()).GetProperty("record").GetInt32());
        }
        var snapshotDir = dir.File("snapshot");
        var snapshot = Run(ws, "datanet", "snapshot", "stories", "--out", snapshotDir, "--json");
        Assert.Equal(0, snapshot.ExitCode);
        var root = JsonDocument.Parse(snapshot.Stdout).RootElement.GetProperty("root").GetString()!;

        var config = dir.File("train.yaml");
        File.WriteAllText(config, $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            dataset: stories
            dataset_dir: {snapshotDir}
            template: alpaca
            cutoff_len: 128
            max_steps: 2
            per_device_train_batch_size: 2
            output_dir: {dir.File("out")}
            """);
        var train = CliRunner.Run("train", config);
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.True(File.Exists(Path.Combine(dir.File("out"), "adapter_config.json")));

        // snapshot.json -> snapshot-show -> contributors; provenance.jsonl names each row's contributor.
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(snapshotDir, "snapshot.json")));
        Assert.Equal(root, manifest.RootElement.GetProperty("root").GetString());
        var show = Run(ws, "datanet", "snapshot-show", root, "--json");
        using var shown = JsonDocument.Parse(show.Stdout);
        var contributors = shown.RootElement.GetProperty("contributors").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("items").GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["alice"] = 3, ["bob"] = 2 }, contributors);
        var rows = File.ReadAllLines(Path.Combine(snapshotDir, "provenance.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("contributor").GetString()).ToList();
        Assert.Equal(["alice", "alice", "alice", "bob", "bob"], rows);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(snapshotDir, "data.jsonl")).Length);
        Assert.Equal(0, Run(ws, "datanet", "verify", "stories").ExitCode);
    }
}
