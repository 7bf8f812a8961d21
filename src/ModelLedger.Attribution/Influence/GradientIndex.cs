using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelLedger.Engine.Formats;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

/// <summary>A sampled point of training as stored in the index: where its weights came from (checkpoint-N or
/// "adapter"), its step, its TracIn-CP weight and how many trainable coordinates its gradients have.</summary>
public sealed record IndexCheckpoint(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("weight")] double Weight,
    [property: JsonPropertyName("parameters")] long Parameters);

/// <summary>index.json: what the sketches were computed from and how, so a query recomputes its gradient the same
/// way and <c>verify</c> can recompute any row.</summary>
public sealed record IndexManifest(
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("projection")] string Projection,
    [property: JsonPropertyName("dims")] int Dims,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("damping_ratio")] double DampingRatio,
    [property: JsonPropertyName("base_model")] string BaseModel,
    [property: JsonPropertyName("adapter")] string Adapter,
    [property: JsonPropertyName("adapter_kind")] AdapterKind AdapterKind,
    [property: JsonPropertyName("quantization_bit")] int? QuantizationBit,
    [property: JsonPropertyName("template")] string Template,
    [property: JsonPropertyName("cutoff_len")] int CutoffLen,
    [property: JsonPropertyName("dataset_dir")] string DatasetDir,
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("snapshot_root")] string? SnapshotRoot,
    [property: JsonPropertyName("snapshot_leaf_hash")] string? SnapshotLeaf,
    [property: JsonPropertyName("examples")] int Examples,
    [property: JsonPropertyName("checkpoints")] IReadOnlyList<IndexCheckpoint> Checkpoints,
    [property: JsonPropertyName("sketches_sha256")] string SketchesSha256,
    [property: JsonPropertyName("owners_sha256")] string OwnersSha256)
{
    public const int CurrentVersion = 1;

    /// <summary>Training's max_samples: only the first N records of each dataset were indexed (null: all).</summary>
    [JsonPropertyName("max_samples")] public int? MaxSamples { get; init; }
}

/// <summary>
/// A TracIn-CP gradient index: per sampled checkpoint c, the projected per-example gradients G_c [N, k] and the
/// damped inverse of their Fisher matrix M_c = (G_cᵀG_c/N + λ_c I)⁻¹ [k, k]; the owner (item, contributor) of each row.
/// On disk a folder: index.json (manifest with file hashes), owners.jsonl, sketches.safetensors; written to a
/// temporary folder and renamed into place. Owns its tensors (dispose it).
/// </summary>
public sealed class GradientIndex : IDisposable
{
    private const string ManifestFile = "index.json", OwnersFile = "owners.jsonl", SketchesFile = "sketches.safetensors";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) } };

    public IndexManifest Manifest { get; private set; }
    public IReadOnlyList<RecordOwner> Owners { get; }
    internal IReadOnlyList<Tensor> Sketches { get; }        // per checkpoint [N, k] float32
    internal IReadOnlyList<Tensor> FisherInverses { get; }  // per checkpoint [k, k] float32

    internal GradientIndex(IndexManifest manifest, IReadOnlyList<RecordOwner> owners, IReadOnlyList<Tensor> sketches, IReadOnlyList<Tensor> fisherInverses)
    {
        (Manifest, Owners, Sketches, FisherInverses) = (manifest, owners, sketches, fisherInverses);
    }

    /// <summary>Bytes on disk per training example (sketches only; the k×k matrices are per index).</summary>
    public long BytesPerExample => 4L * Manifest.Dims * Manifest.Checkpoints.Count;

    /// <summary>SHA-256 of index.json as written: the index's identity (it holds the hashes of the other files).</summary>
    public string Hash { get; private set; } = "";

    /// <summary>Writes the folder; refuses to replace an existing one unless <paramref name="overwrite"/>.</summary>
    public void Save(string directory, bool overwrite)
    {
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any() && !overwrite)
            throw new UserError("already exists and is not empty", file: directory, hint: "choose another --out, or pass --overwrite to replace it");
        var temp = directory.TrimEnd('/', '\\') + ".tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        File.WriteAllLines(Path.Combine(temp, OwnersFile), Owners.Select(o => JsonSerializer.Serialize(new { item = o.Item, contributor = o.Contributor })));
        var tensors = new List<(string, Tensor)>();
        for (int c = 0; c < Sketches.Count; c++)
        {
            tensors.Add(($"checkpoint{c}.sketches", Sketches[c]));
            tensors.Add(($"checkpoint{c}.fisher_inverse", FisherInverses[c]));
        }
        SafetensorsWriter.Write(Path.Combine(temp, SketchesFile), tensors);
        Manifest = Manifest with { SketchesSha256 = Sha256(Path.Combine(temp, SketchesFile)), OwnersSha256 = Sha256(Path.Combine(temp, OwnersFile)) };
        File.WriteAllText(Path.Combine(temp, ManifestFile), JsonSerializer.Serialize(Manifest, Indented));
        Hash = Sha256(Path.Combine(temp, ManifestFile));
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        Directory.Move(temp, directory);
    }

    /// <summary>Reads an index folder, checking version, counts and shapes; with <paramref name="checkHashes"/> also
    /// that the files are the ones the manifest names (what <c>verify</c> does; a query skips it for latency).</summary>
    public static GradientIndex Load(string directory, bool checkHashes = false)
    {
        var manifestPath = Path.Combine(directory, ManifestFile);
        var manifest = ReadManifest(directory);
        var ownersPath = Path.Combine(directory, OwnersFile);
        var sketchesPath = Path.Combine(directory, SketchesFile);
        if (checkHashes)
            foreach (var (path, expected) in new[] { (ownersPath, manifest.OwnersSha256), (sketchesPath, manifest.SketchesSha256) })
                if (Sha256(path) != expected) throw new UserError($"SHA-256 differs from the manifest's {expected}", file: path, hint: "rebuild the index");
        var owners = File.ReadAllLines(ownersPath).Select((line, i) =>
        {
            using var doc = JsonDocument.Parse(line);
            return new RecordOwner(doc.RootElement.GetProperty("item").GetString()!, doc.RootElement.GetProperty("contributor").GetString()!);
        }).ToList();
        if (owners.Count != manifest.Examples) throw new UserError($"{owners.Count} owners for {manifest.Examples} examples", file: ownersPath);
        var file = SafetensorsFile.Open(sketchesPath);
        var sketches = new List<Tensor>();
        var inverses = new List<Tensor>();
        for (int c = 0; c < manifest.Checkpoints.Count; c++)
        {
            var g = file.Read($"checkpoint{c}.sketches");
            var m = file.Read($"checkpoint{c}.fisher_inverse");
            if (!g.shape.SequenceEqual([manifest.Examples, manifest.Dims]) || !m.shape.SequenceEqual([manifest.Dims, manifest.Dims]))
                throw new UserError($"checkpoint {c}: sketch shapes [{string.Join(",", g.shape)}], [{string.Join(",", m.shape)}] do not match the manifest", file: sketchesPath);
            sketches.Add(g);
            inverses.Add(m);
        }
        return new GradientIndex(manifest, owners, sketches, inverses) { Hash = Sha256(manifestPath) };
    }

    /// <summary>index.json alone (what the index was built from: the training dataset folder and snapshot root),
    /// checked for its version; the sketches are not read.</summary>
    public static IndexManifest ReadManifest(string directory)
    {
        var manifestPath = Path.Combine(directory, ManifestFile);
        if (!File.Exists(manifestPath)) throw new UserError("not an attribution index (no index.json)", file: directory,
            hint: "build one with: mledger attribution index --adapter DIR --dataset NAME --dataset-dir DIR");
        IndexManifest manifest;
        try { manifest = JsonSerializer.Deserialize<IndexManifest>(File.ReadAllText(manifestPath), Indented) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new UserError($"not a valid index manifest ({e.Message})", file: manifestPath); }
        if (manifest.Version != IndexManifest.CurrentVersion)
            throw new UserError($"index format version {manifest.Version} is not {IndexManifest.CurrentVersion}", file: manifestPath, field: "version");
        return manifest;
    }

    internal static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public void Dispose()
    {
        foreach (var t in Sketches.Concat(FisherInverses)) t.Dispose();
    }
}
