using ModelLedger.Data.Datasets;
using ModelLedger.Data.Chat;
using System.Diagnostics;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Tuning.Adapters;
using ModelLedger.Tuning.Config;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

/// <summary>How sketches are made: projection width k, its seed, how many checkpoints TracIn-CP samples, and the
/// Fisher damping λ as a fraction of the mean eigenvalue (DataInf's 0.1).</summary>
public sealed record IndexOptions(int Dims = 512, int Seed = 0, int MaxCheckpoints = 3, double DampingRatio = 0.1)
{
    public void Validate()
    {
        if (Dims < 1 || Dims > 65536) throw new UserError($"must be between 1 and 65536 (got {Dims})", field: "--dims");
        if (MaxCheckpoints < 1) throw new UserError($"must be ≥ 1 (got {MaxCheckpoints})", field: "--checkpoints");
        if (!(DampingRatio > 0)) throw new UserError($"must be > 0 (got {DampingRatio})", field: "--damping");
    }
}

/// <summary>What <c>mledger attribution index</c> needs. The base model defaults to the adapter's
/// base_model_name_or_path, the template to the tokenizer's; both must be what training used.</summary>
public sealed record IndexRequest(string Adapter, string DatasetDir, string Dataset, string? BaseModel = null, string? Template = null,
    int CutoffLen = 1024, int? QuantizationBit = null, string? Out = null, bool Overwrite = false, IndexOptions? Options = null, string Device = "cpu",
    int? MaxSamples = null)
{
    public string OutDir => Out ?? Path.Combine(Adapter, "attribution");
}

/// <summary>What a build produced and what it cost.</summary>
public sealed record IndexSummary(string Directory, string Hash, int Examples, int Checkpoints, int Dims, long BytesPerExample,
    double Seconds, double ExamplesPerSecond, int Dropped);

/// <summary>
/// Builds the TracIn-CP index after training: at each sampled checkpoint, every training example's loss gradient
/// with respect to the adapter's weights, CountSketch-projected to k dims, and the damped inverse Fisher of those
/// sketches. Gradients are recomputed from the checkpoints the run saved (save_steps), so the trainer is untouched.
/// </summary>
public static class GradientIndexBuilder
{
    /// <summary>The entry point for a finished training run (the train job's <c>attribution: true</c>): indexes the
    /// run's own dataset at its own checkpoints into <c>output_dir/attribution</c>.</summary>
    public static IndexSummary BuildForRun(TrainConfig config, Action<string> log, CancellationToken cancellation, IndexOptions? options = null) =>
        Run(new IndexRequest(config.OutputDir, config.DatasetDir, config.Dataset, config.ModelNameOrPath, config.Template, config.CutoffLen,
            config.QuantizationBit, Overwrite: true, Options: options, Device: config.Device, MaxSamples: config.MaxSamples), log, cancellation);

    public static IndexSummary Run(IndexRequest request, Action<string> log, CancellationToken cancellation)
    {
        var options = request.Options ?? new IndexOptions();
        options.Validate();
        if (request.CutoffLen < 2) throw new UserError($"must be ≥ 2 (got {request.CutoffLen})", field: "--cutoff-len");
        var baseModel = request.BaseModel ?? BaseOf(request.Adapter);
        var checkpoints = CheckpointPlan.For(request.Adapter, options.MaxCheckpoints);
        if (Directory.Exists(request.OutDir) && Directory.EnumerateFileSystemEntries(request.OutDir).Any() && !request.Overwrite)
            throw new UserError("already exists and is not empty", file: request.OutDir, hint: "choose another --out, or pass --overwrite to replace it");
        using var model = PretrainedModel.Load(baseModel, TorchRuntime.ParseDevice(request.Device));
        var template = request.Template is string t ? ChatTemplate.Named(t) : ChatTemplate.Detect(model.Tokenizer);
        var dataset = AttributionDataset.Load(request.DatasetDir, request.Dataset, model.Tokenizer, template, request.CutoffLen, log: log, maxSamples: request.MaxSamples);
        using var gradients = GradientModel.Attach(model, request.Adapter, request.QuantizationBit);
        var manifest = new IndexManifest(IndexManifest.CurrentVersion, "tracin-cp", "countsketch", options.Dims, options.Seed, options.DampingRatio,
            Path.GetFullPath(baseModel), Path.GetFullPath(request.Adapter), gradients.Kind, request.QuantizationBit, template.Name, request.CutoffLen,
            Path.GetFullPath(request.DatasetDir), request.Dataset, dataset.SnapshotRoot, dataset.SnapshotLeaf, dataset.Examples.Count, [], "", "")
        {
            MaxSamples = request.MaxSamples,
        };
        var watch = Stopwatch.StartNew();
        using var index = Build(gradients, checkpoints, dataset.Examples, manifest, options, log, cancellation);
        double seconds = watch.Elapsed.TotalSeconds;
        index.Save(request.OutDir, request.Overwrite);
        log($"index: {dataset.Examples.Count} examples x {checkpoints.Count} checkpoints x {options.Dims} dims in {seconds:F1} s " +
            $"({index.BytesPerExample} bytes per example) -> {request.OutDir}");
        return new IndexSummary(request.OutDir, index.Hash, dataset.Examples.Count, checkpoints.Count, options.Dims, index.BytesPerExample,
            seconds, dataset.Examples.Count * checkpoints.Count / Math.Max(seconds, 1e-9), dataset.Dropped);
    }

    /// <summary>Computes the sketches in memory (the caller saves or queries the index). <paramref name="manifest"/>
    /// supplies the provenance fields; its checkpoint list is filled in here.</summary>
    internal static GradientIndex Build(GradientModel model, IReadOnlyList<CheckpointRef> checkpoints, IReadOnlyList<AttributedExample> examples,
        IndexManifest manifest, IndexOptions options, Action<string> log, CancellationToken cancellation)
    {
        var sketches = new List<Tensor>();
        var inverses = new List<Tensor>();
        var stored = new List<IndexCheckpoint>();
        try
        {
            foreach (var checkpoint in checkpoints)
            {
                model.Use(checkpoint.Path);
                long parameters = model.ParameterCount;
                using var projection = new CountSketch(parameters, options.Dims, options.Seed, model.Model.Network.Device);
                var rows = zeros(examples.Count, options.Dims);
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < examples.Count; i++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    rows[i].copy_(projection.Project(model.Gradient(examples[i].Sample)).cpu());
                    if ((i + 1) % 500 == 0) log($"  {SourceName(checkpoint)}: {i + 1}/{examples.Count} examples ({(i + 1) / watch.Elapsed.TotalSeconds:F0}/s)");
                }
                sketches.Add(rows);
                inverses.Add(DampedFisherInverse(rows, options.DampingRatio));
                stored.Add(new IndexCheckpoint(SourceName(checkpoint), checkpoint.Step, checkpoint.Weight, parameters));
                log($"  {SourceName(checkpoint)} (step {checkpoint.Step}, weight {checkpoint.Weight:G4}): {examples.Count} gradients of {parameters:N0} " +
                    $"coordinates in {watch.Elapsed.TotalSeconds:F1} s");
            }
        }
        catch
        {
            foreach (var t in sketches.Concat(inverses)) t.Dispose();
            throw;
        }
        var owners = examples.Select(e => new RecordOwner(e.Item, e.Contributor)).ToList();
        return new GradientIndex(manifest with { Checkpoints = stored, Examples = examples.Count }, owners, sketches, inverses);
    }

    internal static string SourceName(CheckpointRef c) => c.Path is null ? "adapter" : Path.GetFileName(Path.TrimEndingDirectorySeparator(c.Path));

    /// <summary>(GᵀG/N + λI)⁻¹ with λ = ratio · trace(GᵀG/N)/k: DataInf's damping (Kwon et al. 2024) applied to the
    /// empirical Fisher in sketch space, where k×k is small enough to invert exactly.</summary>
    internal static Tensor DampedFisherInverse(Tensor sketches, double ratio)
    {
        using var scope = NewDisposeScope();
        var g = sketches.to(ScalarType.Float64);
        long n = g.shape[0], k = g.shape[1];
        var fisher = g.t().matmul(g).Over(n);
        double lambda = ratio * fisher.trace().item<double>() / k + 1e-12;
        var inverse = linalg.inv(fisher.Plus(eye(k, dtype: ScalarType.Float64).Times(lambda)));
        return inverse.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    private static string BaseOf(string adapter)
    {
        var config = PeftLoraFiles.ReadConfig(adapter) ?? throw new UserError("adapter_config.json not found", file: adapter, hint: "--adapter must be a PEFT adapter directory (a training output_dir)");
        return config["base_model_name_or_path"]?.GetValue<string>() is { Length: > 0 } b ? b
            : throw new UserError("has no base_model_name_or_path; pass --model", file: Path.Combine(adapter, PeftLoraFiles.ConfigFile));
    }
}
