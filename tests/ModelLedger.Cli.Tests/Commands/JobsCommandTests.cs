using System.Text.Json;
using ModelLedger.Jobs.Queue;
using ModelLedger.Ledger;
using ModelLedger.Testing;
using static ModelLedger.Cli.Commands.CliJson;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger jobs</c> and <c>mledger worker</c> end to end with the real binary: a tiny training run queued
/// and run by a worker; a bad config refused at submit; and on PostgreSQL a worker killed mid-job whose job another
/// worker claims after the lease expires and finishes from the last checkpoint.</summary>
public sealed class JobsCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private string Ws => Path.Combine(_dir.Path, "ws");

    public void Dispose() => _dir.Dispose();

    private string WriteConfig(int steps, int saveSteps, string output)
    {
        var path = _dir.File("train.yaml");
        File.WriteAllText(path, $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            lora_target: all
            dataset: stories
            dataset_dir: {TestPaths.Datasets}
            template: alpaca
            cutoff_len: 64
            max_steps: {steps}
            per_device_train_batch_size: 2
            logging_steps: 1
            save_steps: {saveSteps}
            output_dir: {output}
            """);
        return path;
    }

    private static void Init(params string[] db)
    {
        var init = CliRunner.Run(["ledger", "init", "--origin", "jobs.example/ledger", .. db]);
        Assert.True(init.ExitCode == 0, init.Stderr);
    }

    [Fact]
    [Trait("speed", "slow")]
    public void SubmitTrain_ThenWorkerOnce_SucceedsWithTheAdapterAndTheLogStored()
    {
        Init("--workspace", Ws);
        WriteConfig(3, 10, "adapter");   // relative: resolves against the folder submit ran in, on the worker
        var submit = CliRunner.Run(["jobs", "submit", "train", "train.yaml", "--workspace", Ws],
            workingDirectory: _dir.Path);
        Assert.True(submit.ExitCode == 0, submit.Stderr);
        var id = submit.Stdout.Trim();
        Assert.Equal("queued", Json(CliRunner.Run("jobs", "show", id, "--workspace", Ws, "--json"))
            .GetProperty("state").GetString());

        var worker = CliRunner.Run("worker", "--workspace", Ws, "--once", "--name", "w1");
        Assert.True(worker.ExitCode == 0, worker.Stderr);

        var job = Json(CliRunner.Run("jobs", "show", id, "--workspace", Ws, "--json"));
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.GetRawText());
        Assert.Equal("w1", job.GetProperty("worker").GetString());
        Assert.Equal(3, job.GetProperty("result").GetProperty("run").GetProperty("steps").GetInt32());
        Assert.True(File.Exists(Path.Combine(_dir.Path, "adapter", "adapter_model.safetensors")));
        var steps = CliRunner.Run("jobs", "logs", id, "--workspace", Ws).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "step").Select(e => e.GetProperty("step").GetInt32());
        Assert.Equal([1, 2, 3], steps);
        var list = Json(CliRunner.Run("jobs", "list", "--workspace", Ws, "--json")).GetProperty("jobs");
        Assert.Equal(id, Assert.Single(list.EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    [Trait("speed", "slow")]
    public void SubmitExport_ThenWorkerOnce_WritesWhatMledgerExportWrites()
    {
        Init("--workspace", Ws);
        File.WriteAllText(_dir.File("export.yaml"), $"""
            model_name_or_path: {TestPaths.TinyStories}
            export_dir: merged
            export_format: gguf
            export_gguf_type: f32
            """);
        var submit = CliRunner.Run(["jobs", "submit", "export", "export.yaml", "--workspace", Ws],
            workingDirectory: _dir.Path);
        Assert.True(submit.ExitCode == 0, submit.Stderr);
        var id = submit.Stdout.Trim();
        var worker = CliRunner.Run("worker", "--workspace", Ws, "--once", "--name", "w1");
        Assert.True(worker.ExitCode == 0, worker.Stderr);

        var job = Json(CliRunner.Run("jobs", "show", id, "--workspace", Ws, "--json"));
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.GetRawText());
        var written = job.GetProperty("result").GetProperty("path").GetString()!;
        Assert.Equal("gguf", job.GetProperty("result").GetProperty("format").GetString());
        Assert.StartsWith(Path.Combine(_dir.Path, "merged"), written, StringComparison.Ordinal);
        // The reference: the same export run directly by the CLI gives the same bytes.
        var direct = CliRunner.Run("export", "--model", TestPaths.TinyStories, "--out", _dir.File("direct"),
            "--format", "gguf", "--gguf-type", "f32");
        Assert.True(direct.ExitCode == 0, direct.Stderr);
        Assert.Equal(File.ReadAllBytes(direct.Stdout.Trim()), File.ReadAllBytes(written));
    }

    [Fact]
    public void SubmitExport_AsTrain_OrWithABadFormat_IsAUserError()
    {
        Init("--workspace", Ws);
        var path = _dir.File("export.yaml");
        File.WriteAllText(path, $"model_name_or_path: {TestPaths.TinyStories}\nexport_dir: out\nexport_format: onnx\n");
        var bad = CliRunner.Run("jobs", "submit", "export", path, "--workspace", Ws);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains($"{path}:3: export_format: 'onnx' is not hf or gguf", bad.Stderr, StringComparison.Ordinal);
        var wrongKind = CliRunner.Run("jobs", "submit", "train", path, "--workspace", Ws);
        Assert.Equal(2, wrongKind.ExitCode);
        Assert.Contains("submit it as kind export", wrongKind.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void SubmitTrain_BadConfig_IsAUserError_AndQueuesNothing()
    {
        Init("--workspace", Ws);
        var path = WriteConfig(3, 10, "adapter");
        File.AppendAllText(path, "\nlora_rank: 0\n");
        var submit = CliRunner.Run("jobs", "submit", "train", path, "--workspace", Ws);
        Assert.Equal(2, submit.ExitCode);
        Assert.False(submit.HasStackTrace, submit.Stderr);
        Assert.Contains($"{path}:13: lora_rank: must be ≥ 1 (got 0)", submit.Stderr, StringComparison.Ordinal);
        var unknown = CliRunner.Run("jobs", "cancel", "nope", "--workspace", Ws);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no job nope", unknown.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, Json(CliRunner.Run("jobs", "list", "--workspace", Ws, "--json")).GetProperty("jobs")
            .GetArrayLength());
    }

    [Fact]
    [Trait("speed", "slow")]
    public void WorkerKilledMidJob_AnotherWorkerClaimsItAfterTheLease_AndFinishesFromTheCheckpoint()
    {
        Assert.SkipUnless(PostgresServer.Installed, "PostgreSQL is not installed (apt-get install -y postgresql)");
        using var server = new PostgresServer();
        var db = server.CreateDatabase();
        Init("--workspace", Ws, "--db", db);
        var output = Path.Combine(_dir.Path, "adapter");
        var submit = CliRunner.Run("jobs", "submit", "train", WriteConfig(16, 2, output), "--workspace", Ws,
            "--db", db);
        Assert.True(submit.ExitCode == 0, submit.Stderr);
        var id = submit.Stdout.Trim();
        using var ws = LedgerWorkspace.Open(Ws, db);
        using var queue = JobQueues.Open(ws);

        using (var first = new CliProcess("worker", "--workspace", Ws, "--db", db, "--name", "A", "--lease", "2",
            "--once"))
        {
            // Past step 3 the checkpoint of step 2 is on disk; leaving the block kills the worker and its child
            // (the whole process tree), like a crashed machine.
            WaitUntil(() => queue.Logs(id).Any(l => l.Line.Contains("\"step\":3,", StringComparison.Ordinal)));
        }
        var orphan = queue.Get(id)!;
        Assert.Equal((JobState.Running, "A"), (orphan.State, orphan.Worker));
        WaitUntil(() => queue.Get(id)!.LeaseUntil < DateTimeOffset.UtcNow);

        var second = CliRunner.Run("worker", "--workspace", Ws, "--db", db, "--name", "B", "--lease", "2", "--once");
        Assert.True(second.ExitCode == 0, second.Stderr);
        var job = queue.Get(id)!;
        Assert.True(job.State == JobState.Succeeded, job.Error);
        Assert.Equal((2, "B"), (job.Attempts, job.Worker));
        using var result = JsonDocument.Parse(job.Result!);
        Assert.Equal(16, result.RootElement.GetProperty("run").GetProperty("steps").GetInt32());
        Assert.Contains(queue.Logs(id), l => l.Line.Contains("resumed from", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(output, "adapter_model.safetensors")));
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(90)) throw new TimeoutException("the condition never held");
            Thread.Sleep(50);
        }
    }
}
