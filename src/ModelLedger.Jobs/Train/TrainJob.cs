using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Attribution.Influence;
using ModelLedger.Tuning.Training;

namespace ModelLedger.Jobs.Train;

/// <summary>
/// <c>mledger train</c> as a job: checks the ledger workspace (when recording) before anything else, runs
/// <see cref="TrainingRun"/> with its callbacks turned into typed events, hashes the saved weights and the canonical
/// config, records a <c>training.run</c> ledger event for a completed run, and ends the stream with a
/// <see cref="ResultEvent"/>. Cancellation ends the run at the next step with a checkpoint (Interrupted result).
/// </summary>
public sealed class TrainJob : ThreadJob<TrainRequest, TrainJobResult>
{
    public override TrainJobResult Run(TrainRequest request, IProgress<JobEvent> events, CancellationToken ct)
    {
        var config = request.Config;
        events.Report(new PhaseEvent("checking"));
        var ledger = request.LedgerWorkspace is string workspace
            ? TrainingLedger.Check(workspace, request.LedgerDb, config.DatasetDir)
            : null;
        var run = TrainingRun.Execute(config, new TrainCallbacks
        {
            Log = line => events.Report(new MessageEvent(line)),
            Phase = phase => events.Report(new PhaseEvent(phase)),
            Step = p => events.Report(new StepEvent(p.Step, p.TotalSteps, p.Loss, p.TokensPerSecond, p.EtaSeconds)),
            SaveOnInterrupt = request.SaveOnInterrupt,
        }, ct);
        if (config.Attribution && !run.Interrupted)
        {
            // attribution: true — index the run's own examples at its own checkpoints (TracIn-CP sketches) into
            // output_dir/attribution, before hashing, so the recorded weights hash covers what was trained only.
            events.Report(new PhaseEvent("attribution index"));
            var index = GradientIndexBuilder.BuildForRun(config, line => events.Report(new MessageEvent(line)), ct);
            events.Report(new MessageEvent($"attribution index: {index.Examples} examples x {index.Checkpoints} " +
                $"checkpoints, {index.BytesPerExample} bytes/example in {index.Directory}"));
        }
        var weights = !run.Interrupted || request.SaveOnInterrupt ? WeightsHash.Of(config.OutputDir) : null;
        var configHash = config.CanonicalHash();
        LedgerRecord? record = null;
        if (ledger is not null && weights is not null && !run.Interrupted)
        {
            events.Report(new PhaseEvent("recording"));
            record = ledger.Record(configHash, weights, run);
            events.Report(new MessageEvent(
                $"{(record.AlreadyRecorded ? "already recorded" : "recorded")} {TrainingLedger.EventType} at index " +
                $"{record.Index} (leaf {record.LeafHash})"));
        }
        var result = new TrainJobResult(config.OutputDir, run, weights, configHash, record);
        events.Report(new ResultEvent(ToJson(result)));
        return result;
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static JsonObject ToJson(TrainJobResult result) => JsonSerializer.SerializeToNode(result, Json)!.AsObject();
}
