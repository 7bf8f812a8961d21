using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Training;

namespace ModelLedger.Jobs.Train;

/// <summary>A training run, and where to record it.</summary>
/// <param name="LedgerWorkspace">When set, the finished run is recorded as a <c>training.run</c> ledger event in this
/// workspace (checked before training starts).</param>
/// <param name="LedgerDb">PostgreSQL connection string for that workspace (null: the workspace's own setting).</param>
public sealed record TrainRequest(TrainConfig Config, string? LedgerWorkspace = null, string? LedgerDb = null)
{
    /// <summary>Also write the adapter/model when cancelled (a time-budgeted run), not only the checkpoint.</summary>
    public bool SaveOnInterrupt { get; init; }
}

/// <summary>A finished (or interrupted) training run.</summary>
/// <param name="Run">Steps, losses, speed and parameter counts (what all_results.json holds).</param>
/// <param name="WeightsHash">Hex SHA-256 of the saved weights file(s); null when nothing was saved
/// (interrupted).</param>
/// <param name="ConfigHash">Hex SHA-256 of the canonical config (<see cref="TrainConfig.CanonicalHash"/>).</param>
/// <param name="Ledger">The training.run entry written, when a workspace was given and the run completed.</param>
public sealed record TrainJobResult(string OutputDir, TrainResult Run, string? WeightsHash, string ConfigHash,
    LedgerRecord? Ledger);

/// <summary>Where a ledger entry landed.</summary>
public sealed record LedgerRecord(long Index, string LeafHash, bool AlreadyRecorded);
