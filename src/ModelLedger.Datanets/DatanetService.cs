using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Datanets.Contributors;
using ModelLedger.Datanets.Intake;
using ModelLedger.Datanets.Records;
using ModelLedger.Datanets.Snapshots;
using ModelLedger.Datanets.Storage;
using ModelLedger.Ledger;

namespace ModelLedger.Datanets;

/// <summary>
/// Datanets over one ledger workspace: contributors and their keys, datanets, signed intake, snapshots. Every
/// state change is a ledger entry first and a row second; the rows are checked against the ledger by
/// <see cref="DatanetVerifier"/>. Owns its <see cref="DatanetStore"/> (dispose); the workspace stays the caller's.
/// One instance per thread.
/// </summary>
public sealed class DatanetService(LedgerWorkspace workspace, TimeProvider? clock = null) : IDisposable
{
    public const double DefaultNearDupThreshold = 0.8;
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public DatanetStore Store { get; } = DatanetStore.Open(workspace);
    public LedgerWorkspace Workspace => workspace;

    private string Now() =>
        _clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Creates the key (never replacing one), registers its public key on the ledger, stores the row.
    /// A key left by an interrupted earlier call is registered rather than refused.</summary>
    public ContributorRow CreateContributor(string name)
    {
        ContributorKey.CheckName(name);
        if (Store.Contributor(name) is not null)
            throw new UserError($"contributor '{name}' is already registered; a key is never replaced");
        using var key = File.Exists(ContributorKey.PathOf(workspace.Directory, name))
            ? ContributorKey.Load(workspace.Directory, name) : ContributorKey.Create(workspace.Directory, name);
        var publicKey = Convert.ToHexStringLower(key.PublicKey);
        var result = workspace.Service.Append("contributor.registered", name, CanonicalJson.Object(
            ("contributor", name), ("public_key", publicKey), ("key_id", key.KeyId)), $"datanet:contributor:{name}");
        var row = new ContributorRow(name, publicKey, key.KeyId, result.LeafHash, Now());
        Store.AddContributor(row);
        return row;
    }

    public DatanetRow CreateDatanet(string name, DatanetFormat format, string? license, string? description,
        long? quota, double nearDupThreshold = DefaultNearDupThreshold)
    {
        ContributorKey.CheckName(name, "datanet name");
        if (quota is < 1) throw new UserError($"must be >= 1 (got {quota})", field: "--quota");
        if (nearDupThreshold is <= 0 or > 1)
            throw new UserError($"must be in (0, 1] (got {nearDupThreshold})", field: "--near-dup-threshold");
        if (Store.Datanet(name) is not null) throw new UserError($"datanet '{name}' already exists");
        var payload = CanonicalJson.Object(("datanet", name), ("format", format.Name()), ("license", license),
            ("description", description), ("quota", quota is long q ? JsonValue.Create(q) : null),
            ("near_dup_threshold", IntakePipeline.Invariant(nearDupThreshold)));
        var result = workspace.Service.Append("datanet.created", "datanets", payload, $"datanet:{name}");
        var row = new DatanetRow(name, format, license, description, quota, nearDupThreshold, result.LeafHash, Now());
        Store.AddDatanet(row);
        return row;
    }

    /// <summary>Reads and validates the files (nothing is written if any is unusable), signs every record with the
    /// contributor's key, and takes the submission in.</summary>
    public IntakeResult Add(string datanet, IReadOnlyList<string> files, string contributor,
        double? nearDupThreshold = null, IPerplexityScorer? scorer = null)
    {
        var (net, records) = Read(datanet, files, contributor);
        using var key = Key(contributor);
        var signatures = new byte[records.Count][];
        Parallel.For(0, records.Count, i => signatures[i] = key.Sign(datanet, records[i].ContentHash));
        return Take(net, records, contributor, signatures, nearDupThreshold, scorer);
    }

    /// <summary>Takes in a submission its contributor signed elsewhere (signing is the contributor's work):
    /// <paramref name="signatures"/>[i] signs record i of the files read in order. Validation and every intake check
    /// are as in <see cref="Add"/>; a signature that does not verify refuses its record.</summary>
    public IntakeResult AddSigned(string datanet, IReadOnlyList<string> files, string contributor,
        IReadOnlyList<byte[]> signatures, double? nearDupThreshold = null, IPerplexityScorer? scorer = null,
        IntakeProfile? profile = null)
    {
        var reading = IntakeProfile.Mark.Process();
        var (net, records) = Read(datanet, files, contributor);
        profile?.AddProcess(IntakeStage.ReadValidate, reading);
        if (signatures.Count != records.Count)
            throw new UserError($"{signatures.Count} signatures for {records.Count} records", field: "signatures");
        return Take(net, records, contributor, signatures, nearDupThreshold, scorer, profile);
    }

    /// <summary>Every record of the files, validated, for signing: what <see cref="AddSigned"/> expects signed.</summary>
    public IReadOnlyList<ContentRecord> Records(string datanet, IReadOnlyList<string> files) =>
        SubmissionReader.Read(Store.RequireDatanet(datanet).Format, files);

    /// <summary>The contributor's key from the workspace, checked against the registered one (caller disposes).</summary>
    public ContributorKey Key(string contributor)
    {
        var registered = Store.Contributor(contributor) ?? throw new UserError(
            $"contributor '{contributor}' is not registered", hint: $"mledger contributor create --name {contributor}");
        var key = ContributorKey.Load(workspace.Directory, contributor);
        if (key.KeyId == registered.KeyId) return key;
        key.Dispose();
        throw new UserError($"the key file of '{contributor}' is not the registered key {registered.KeyId}",
            file: ContributorKey.PathOf(workspace.Directory, contributor));
    }

    private (DatanetRow Net, IReadOnlyList<ContentRecord> Records) Read(string datanet, IReadOnlyList<string> files,
        string contributor)
    {
        var net = Store.RequireDatanet(datanet);
        if (Store.Contributor(contributor) is null)
            throw new UserError($"contributor '{contributor}' is not registered",
                hint: $"mledger contributor create --name {contributor}");
        return (net, SubmissionReader.Read(net.Format, files));
    }

    private IntakeResult Take(DatanetRow net, IReadOnlyList<ContentRecord> records, string contributor,
        IReadOnlyList<byte[]> signatures, double? nearDupThreshold, IPerplexityScorer? scorer,
        IntakeProfile? profile = null) =>
        Intake(net).Submit(records.Select((r, i) => new Contribution(r, contributor, signatures[i])).ToList(),
            nearDupThreshold ?? net.NearDupThreshold, scorer, profile);

    /// <summary>An intake over the datanet's current items (its duplicate index loaded).</summary>
    public IntakePipeline Intake(DatanetRow datanet) => new(workspace.Service, Store, datanet);

    /// <summary>Freezes the accepted items as a snapshot (idempotent: the same items give the same root and entry)
    /// and writes its folder.</summary>
    public SnapshotRow Snapshot(string datanet, string outDir)
    {
        var net = Store.RequireDatanet(datanet);
        SnapshotFolder.CheckTarget(outDir);
        var (root, count, snapshot) = Current(datanet);
        if (snapshot is null)
        {
            var payload = CanonicalJson.Object(("datanet", datanet), ("root", root), ("items", count),
                ("format", net.Format.Name()), ("refs", new JsonArray(net.LeafHash)));
            var result = workspace.Service.Append("datanet.snapshot", "datanets", payload,
                $"datanet:{datanet}:snapshot:{root}");
            snapshot = new SnapshotRow(datanet, root, count, result.LeafHash, Now());
            Store.AddSnapshot(snapshot);
        }
        SnapshotFolder.Write(outDir, net, Store.Items(datanet, snapshot.Items), snapshot);
        return snapshot;
    }

    /// <summary>What a snapshot taken now would freeze: the root over the accepted items' content hashes in acceptance
    /// order, their count (read them with <c>Store.Items(datanet, Items)</c>: items are only ever appended), and the
    /// recorded snapshot with that root if one was taken. A datanet without accepted items is refused.</summary>
    public (string Root, long Items, SnapshotRow? Recorded) Current(string datanet)
    {
        Store.RequireDatanet(datanet);
        var ids = Store.Items(datanet).Select(i => i.Item).ToList();
        if (ids.Count == 0) throw new UserError($"datanet '{datanet}' has no accepted items");
        var root = SnapshotRoot.Of(ids);
        return (root, ids.Count, Store.Snapshots(datanet).FirstOrDefault(s => s.Root == root));
    }

    /// <summary>The snapshot with this root and, per contributor of its items, the count and registered key.</summary>
    public (SnapshotRow Snapshot, IReadOnlyList<(ContributorRow Contributor, long Items)> Contributors) ShowSnapshot(
        string root)
    {
        var snapshot = Store.Snapshots(root: root).FirstOrDefault()
            ?? throw new UserError($"no snapshot has root {root}", hint: "mledger datanet show NAME lists snapshots");
        var counts = Store.Items(snapshot.Datanet, snapshot.Items).GroupBy(i => i.Contributor)
            .ToDictionary(g => g.Key, g => (long)g.Count());
        var contributors = Store.Contributors().Where(c => counts.ContainsKey(c.Name))
            .Select(c => (c, counts[c.Name])).ToList();
        return (snapshot, contributors);
    }

    public void Dispose() => Store.Dispose();
}
