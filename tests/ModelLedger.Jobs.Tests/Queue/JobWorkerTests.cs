using System.Text.Json.Nodes;

namespace ModelLedger.Jobs.Queue;

/// <summary>The worker loop and its child process, with a shell script standing in for <c>mledger</c> (the real one
/// runs in ModelLedger.Cli.Tests' JobsCommandTests): lines into the log, the result event into the job, exit codes
/// and SIGTERM on cancel.</summary>
public sealed class JobWorkerTests : IDisposable
{
    private readonly QueueWorkspace _ws = new();
    private readonly SqlJobQueue _queue;

    public JobWorkerTests() => _queue = JobQueues.Open(_ws.Workspace);

    public void Dispose()
    {
        _queue.Dispose();
        _ws.Dispose();
    }

    /// <summary>Worker options whose "mledger" is bash running <paramref name="script"/>; it receives
    /// <c>train CONFIG --events jsonl --workspace W</c> like the real one.</summary>
    private WorkerOptions Options(string script)
    {
        var path = _ws.Dir.File("fake-mledger.sh");
        File.WriteAllText(path, script);
        return new WorkerOptions("test-worker", TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(100), Once: true,
            ["bash", path], _ws.Workspace.Directory, null);
    }

    [Fact]
    public void Run_StoresEveryLine_AndTheResultEventAsTheResult()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        var options = Options("""
            [ "$1" = train ] && [ "$3" = --events ] && [ "$4" = jsonl ] || { echo "error: bad args $*" >&2; exit 2; }
            grep -q "max_steps: 2" "$2" || { echo "error: config not passed" >&2; exit 2; }
            echo '{"type":"phase","phase":"training"}'
            echo 'a note' >&2
            echo '{"type":"step","step":1,"total":2,"loss":1.5}'
            echo '{"type":"result","result":{"run":{"steps":2}}}'
            """);
        Assert.Equal(1, new JobWorker(_queue, options, _ => { }).Run(CancellationToken.None));

        var done = _queue.Get(job.Id)!;
        Assert.True(done.State == JobState.Succeeded, done.Error);
        Assert.Equal(2, JsonNode.Parse(done.Result!)!["run"]!["steps"]!.GetValue<int>());
        var lines = _queue.Logs(job.Id).Select(l => l.Line).ToList();
        Assert.Contains("""{"type":"step","step":1,"total":2,"loss":1.5}""", lines);
        Assert.Contains(SqlJobQueue.Note("a note"), lines);
        // stdout keeps its order; stderr's notes may interleave anywhere (two pipes)
        Assert.Equal("""{"type":"result","result":{"run":{"steps":2}}}""", lines.Last(l => !l.Contains("a note",
            StringComparison.Ordinal)));
    }

    [Fact]
    public void Run_ExportJob_RunsMledgerExportWithTheConfigsValues_InItsWorkingDir()
    {
        var dir = _ws.Dir.Sub("exports");
        var config = "model_name_or_path: base\nadapter_name_or_path: ads\nexport_dir: out\nexport_format: gguf\n" +
            "export_gguf_type: q8_0\nexport_overwrite: true\n";
        var job = _queue.Submit("export", JobPayloads.For("export", config, "export.yaml", dir));
        // The expected arguments are written out by hand from the config above and mledger export's options.
        var options = Options("""
            want="export --model base --out out --adapter ads --format gguf --gguf-type q8_0 --overwrite --events jsonl"
            [ "$*" = "$want" ] || { echo "error: got $*" >&2; exit 2; }
            echo "{\"type\":\"result\",\"result\":{\"path\":\"$PWD/out/model-q80.gguf\",\"format\":\"gguf\"}}"
            """);
        Assert.Equal(1, new JobWorker(_queue, options, _ => { }).Run(CancellationToken.None));
        var done = _queue.Get(job.Id)!;
        Assert.True(done.State == JobState.Succeeded, done.Error);
        Assert.Equal(Path.Combine(dir, "out", "model-q80.gguf"),
            JsonNode.Parse(done.Result!)!["path"]!.GetValue<string>());
    }

    [Fact]
    public void Run_ChildFailing_FailsTheJobWithItsErrorLineAndExitCode()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        var options = Options("""
            echo 'loading' >&2
            echo 'error: data/d.jsonl: record 1: output: is missing' >&2
            exit 2
            """);
        new JobWorker(_queue, options, _ => { }).Run(CancellationToken.None);
        var failed = _queue.Get(job.Id)!;
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Equal("mledger train exited with code 2: error: data/d.jsonl: record 1: output: is missing",
            failed.Error);
    }

    [Fact]
    public void Run_EmptyQueue_WithOnce_ReturnsAtOnce()
    {
        Assert.Equal(0, new JobWorker(_queue, Options("exit 0"), _ => { }).Run(CancellationToken.None));
    }

    /// <summary>A child that runs until SIGTERM, then says so and exits 130 as mledger train does.</summary>
    private const string UntilInterrupted = """
        trap 'echo "{\"type\":\"result\",\"result\":{\"interrupted\":true}}"; exit 130' TERM
        echo '{"type":"phase","phase":"training"}'
        while true; do sleep 0.1; done
        """;

    [Fact]
    public async Task CancelRequest_InterruptsTheChild_AndEndsTheJobCancelled()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        var worker = Task.Run(() => new JobWorker(_queue, Options(UntilInterrupted), _ => { })
            .Run(CancellationToken.None), TestContext.Current.CancellationToken);
        WaitForLine(job.Id, "training");
        Assert.True(_queue.RequestCancel(job.Id));
        await worker.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        var cancelled = _queue.Get(job.Id)!;
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Equal("cancelled on request (exit code 130)", cancelled.Error);
        Assert.True(JsonNode.Parse(cancelled.Result!)!["interrupted"]!.GetValue<bool>());   // where it stopped
    }

    [Fact]
    public async Task WorkerStop_InterruptsTheChild_AndPutsTheJobBack()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        using var stop = new CancellationTokenSource();
        var worker = Task.Run(() => new JobWorker(_queue, Options(UntilInterrupted), _ => { }).Run(stop.Token),
            TestContext.Current.CancellationToken);
        WaitForLine(job.Id, "training");
        stop.Cancel();
        await worker.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        var back = _queue.Get(job.Id)!;
        Assert.Equal((JobState.Queued, 0, null), (back.State, back.Attempts, back.Worker));
    }

    private void WaitForLine(string job, string text)
    {
        for (int i = 0; i < 200 && !_queue.Logs(job).Any(l => l.Line.Contains(text, StringComparison.Ordinal)); i++)
            Thread.Sleep(50);
    }
}
