using ModelLedger.Ledger;
using ModelLedger.Testing;

namespace ModelLedger.Jobs.Queue;

/// <summary>A clock the test moves by hand, so lease expiry needs no waiting.</summary>
internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>A fresh SQLite workspace in a temp folder, and payloads to queue in it.</summary>
internal sealed class QueueWorkspace : IDisposable
{
    public TempDirectory Dir { get; } = new();
    public LedgerWorkspace Workspace { get; }

    public QueueWorkspace(string? db = null) =>
        Workspace = LedgerWorkspace.Init(Dir.File("ws"), "test.example/ledger", db);

    /// <summary>A valid training config (the keys train requires), as submitted.</summary>
    public static string TrainPayload(string output = "out") => JobPayloads.For(JobPayloads.Train, $"""
        model_name_or_path: {TestPaths.TinyStories}
        dataset: stories
        dataset_dir: {TestPaths.Datasets}
        template: alpaca
        max_steps: 2
        output_dir: {output}
        """, "train.yaml", null);

    public void Dispose()
    {
        Workspace.Dispose();
        Dir.Dispose();
    }
}
