using ModelLedger.Data.Datasets;
using ModelLedger.Data.Chat;
using ModelLedger.Data;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Tokenization;
using ModelLedger.Tuning.Data;

namespace ModelLedger.Attribution.Influence;

/// <summary>One training example as the index sees it: its owner and its tokens (labels as in training).</summary>
public sealed record AttributedExample(string Item, string Contributor, EncodedSample Sample);

/// <summary>
/// The training examples of an SFT dataset, one encoded sample per record (never packed: each example needs its own
/// gradient), in file order, each with its item id and contributor. A folder with <c>provenance.jsonl</c> is a datanet
/// snapshot and its provenance decides the owners; otherwise a <c>contributor</c> column does, else "unknown".
/// </summary>
public sealed record AttributionDataset(IReadOnlyList<AttributedExample> Examples, int Dropped, string? SnapshotRoot, string? SnapshotLeaf)
{
    public static AttributionDataset Load(string datasetDir, string datasetNames, TextTokenizer tokenizer, ChatTemplate template,
        int cutoffLen, bool trainOnPrompt = false, Action<string>? log = null, int? maxSamples = null)
    {
        var provenancePath = Path.Combine(datasetDir, Provenance.FileName);
        var snapshotOwners = File.Exists(provenancePath) ? Provenance.ReadSnapshot(provenancePath) : null;
        var examples = new List<AttributedExample>();
        int dropped = 0;
        foreach (var spec in DatasetInfo.Resolve(datasetDir, datasetNames))
        {
            var (read, rejected) = DatasetReader.Read(spec, rawText: false);
            if (maxSamples is int max) read = read.Take(max).ToList();   // as training's max_samples does
            foreach (var r in rejected.Take(3)) log?.Invoke($"skipped {r}");
            dropped += rejected.Count;
            var columnOwners = snapshotOwners is null ? Provenance.ReadColumn(spec.File) : null;
            foreach (var example in read)
            {
                RecordOwner owner;
                if (snapshotOwners is not null)
                    owner = snapshotOwners.TryGetValue(example.Record, out var o) ? o
                        : throw new UserError($"record {example.Record} of {spec.File} has no provenance line", file: provenancePath,
                            hint: "provenance.jsonl must have one line per data.jsonl line");
                else owner = new RecordOwner($"{spec.Name}:{example.Record}",
                    columnOwners!.TryGetValue(example.Record, out var c) ? c : Provenance.Unknown);
                var (encoded, cut) = SampleEncoder.Supervised([example], tokenizer, template, cutoffLen, trainOnPrompt);
                if (encoded.Count == 0) { dropped++; log?.Invoke($"skipped {cut[0]}"); continue; }
                examples.Add(new AttributedExample(owner.Item, owner.Contributor, encoded[0]));
            }
        }
        if (examples.Count == 0) throw new UserError("no usable training examples to index", file: datasetDir, field: "dataset");
        var (root, leaf) = SnapshotIdentity(datasetDir);
        return new AttributionDataset(examples, dropped, root, leaf);
    }

    /// <summary>The snapshot's Merkle root and ledger leaf hash from snapshot.json, when the folder is a snapshot.</summary>
    private static (string? Root, string? Leaf) SnapshotIdentity(string datasetDir)
    {
        var path = Path.Combine(datasetDir, "snapshot.json");
        if (JsonFile.ReadObject(path) is not { } snapshot) return (null, null);
        string? Field(string name) => snapshot[name] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        return (Field("root") ?? throw new UserError("snapshot.json has no root", file: path, field: "root"), Field("ledger_leaf_hash"));
    }
}
