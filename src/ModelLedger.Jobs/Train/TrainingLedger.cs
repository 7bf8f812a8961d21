using System.Text.Json.Nodes;
using ModelLedger.Data.Datasets;
using ModelLedger.Ledger;
using ModelLedger.Tuning.Training;

namespace ModelLedger.Jobs.Train;

/// <summary>
/// Records a finished training run as a <c>training.run</c> ledger event: payload <c>{"adapter_hash","config_hash",
/// "datanet_root","metrics","refs"}</c>. When dataset_dir holds a datanet <c>snapshot.json</c>, datanet_root is its
/// root and refs holds its ledger leaf hash; otherwise datanet_root is <c>"none"</c> and refs is empty. The client id
/// is <c>training.run/ADAPTER_HASH</c>, so recording the same weights again answers with the first entry.
/// </summary>
internal sealed class TrainingLedger
{
    public const string EventType = "training.run";

    private readonly string _workspace;
    private readonly string? _db;
    private readonly DatanetSnapshot? _snapshot;

    private TrainingLedger(string workspace, string? db, DatanetSnapshot? snapshot) =>
        (_workspace, _db, _snapshot) = (workspace, db, snapshot);

    /// <summary>Checks, before any training, that the workspace opens and that the snapshot's ledger entry (if any)
    /// is in it.</summary>
    public static TrainingLedger Check(string workspace, string? db, string datasetDir)
    {
        var snapshot = DatanetSnapshot.TryRead(datasetDir);
        using var ledger = LedgerWorkspace.Open(workspace, db);
        if (snapshot?.LedgerLeafHash is string leaf && ledger.Service.IndexOf(leaf) is null)
            throw new UserError($"the snapshot's ledger entry {leaf} is not in the ledger at {workspace}",
                file: Path.Combine(datasetDir, DatanetSnapshot.FileName), field: "ledger_leaf_hash",
                hint: "record the run in the workspace that holds the datanet (--workspace), or train without one");
        return new TrainingLedger(workspace, db, snapshot);
    }

    public static JsonObject Payload(string configHash, string adapterHash, DatanetSnapshot? snapshot, TrainResult run)
    {
        var refs = new JsonArray();
        if (snapshot?.LedgerLeafHash is string leaf) refs.Add(leaf);
        return new JsonObject
        {
            ["adapter_hash"] = adapterHash,
            ["config_hash"] = configHash,
            ["datanet_root"] = snapshot?.Root ?? "none",
            ["metrics"] = new JsonObject
            {
                ["epoch"] = run.Epoch,
                ["eval_loss"] = run.EvalLoss is double e ? Math.Round(e, 6) : null,
                ["train_loss"] = double.IsNaN(run.TrainLoss) ? null : Math.Round(run.TrainLoss, 6),
                ["train_steps"] = run.Steps,
            },
            ["refs"] = refs,
        };
    }

    public LedgerRecord Record(string configHash, string adapterHash, TrainResult run)
    {
        var payload = Payload(configHash, adapterHash, _snapshot, run);
        var refs = _snapshot?.LedgerLeafHash is string leaf ? new[] { leaf } : [];
        using var ledger = LedgerWorkspace.Open(_workspace, _db);
        var result = ledger.Service.Append(EventType, "mledger-train", payload.ToJsonString(),
            clientId: $"{EventType}/{adapterHash}", refs: refs);
        return new LedgerRecord(result.Index, result.LeafHash, result.Status == AppendStatus.Exists);
    }
}
