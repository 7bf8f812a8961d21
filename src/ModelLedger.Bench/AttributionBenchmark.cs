using ModelLedger.Data.Datasets;
using ModelLedger.Data.Chat;
using System.Diagnostics;
using ModelLedger.Attribution.Influence;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Data;
using ModelLedger.Tuning.Training;
using static TorchSharp.torch;

namespace ModelLedger.Bench;

/// <summary>Sizes of <c>mledger bench attribution</c>; tiny values make a smoke run of seconds. The cost is
/// 1 + Seeds·(1 + (1 + RandomDraws)·Queries) + Subsets LoRA trainings of Steps steps each (96 x 54 by default):
/// 54 steps of batch 8 are ~2 epochs of the full data, as fine-tuning runs are; at 18 steps (< 1 epoch) removing two
/// contributors mostly reorders the batches and the counterfactual was noise (benchmarks.md, session 6).</summary>
public sealed record AttributionBenchOptions
{
    public int TrainExamples { get; init; } = 200;
    public int Contributors { get; init; } = 20;
    public int Canaries { get; init; } = 5;
    public int CanaryCopies { get; init; } = 3;
    public int Queries { get; init; } = 6;
    public int BaseSteps { get; init; } = 60;
    public int Steps { get; init; } = 54;
    public int Checkpoints { get; init; } = 3;
    public int Dims { get; init; } = 512;
    public int TopK { get; init; } = 2;
    public int Seeds { get; init; } = 3;
    public int RandomDraws { get; init; } = 3;
    public int Subsets { get; init; } = 20;
    public IReadOnlyList<int> LatencySizes { get; init; } = [10_000, 100_000];
    /// <summary>A base model an earlier run of this benchmark pre-trained (its <c>base-model</c> folder), used instead
    /// of pre-training again; null: pre-train <see cref="BaseSteps"/> steps.</summary>
    public string? BaseModel { get; init; }
}

public sealed record CounterfactualSeed(int Seed, double TopIncrease, double RandomIncrease, double Ratio, int QueriesTopWorse,
    IReadOnlyList<CounterfactualQuery> Queries);
public sealed record MethodScore(string Method, double LdsSpearman, double CanaryPrecisionAt1);
public sealed record StepTime(string Step, double Seconds);

public sealed record AttributionBenchReport(AttributionBenchOptions Options, int TrainExamples, long TrainableParameters,
    double BuildSeconds, double GradientsPerSecond, long BytesPerExample, double QueryMs, int TopK,
    IReadOnlyList<CounterfactualSeed> Counterfactual, IReadOnlyList<MethodScore> Methods, IReadOnlyList<LatencyRow> Latency,
    IReadOnlyList<StepTime> Steps);

/// <summary>
/// Validates training-data attribution against retraining on a quickstart-sized model and the ad dataset split among
/// synthetic contributors: counterfactual removal of the top-k attributed contributors vs k random ones (per training
/// seed), TRAK's linear datamodeling score over random 50 % subsets, precision@1 on planted canaries, and query
/// latency at large index sizes. Every training run is the real pipeline (<see cref="TrainingRun"/>).
/// </summary>
public static class AttributionBenchmark
{
    private static readonly InfluenceScore[] AllScores = [InfluenceScore.Cosine, InfluenceScore.Dot, InfluenceScore.Fisher];
    // The plain template (prompt, then answer) keeps sequences short: with the sample tokenizer's 256-token vocabulary
    // alpaca's system preamble alone takes ~100 tokens, and every run here is many trainings long.
    private const string Template = "plain";
    private const int CutoffLen = 192;

    public static AttributionBenchReport Run(string workDir, AttributionBenchOptions o, Action<string> log, CancellationToken ct)
    {
        Validate(o);
        var steps = new List<StepTime>();
        var watch = Stopwatch.StartNew();
        void Done(string step) { steps.Add(new StepTime(step, Math.Round(watch.Elapsed.TotalSeconds, 2))); log($"[{step}] {watch.Elapsed.TotalSeconds:F1} s"); watch.Restart(); }

        var data = AttributionBenchData.Create(workDir, o.TrainExamples, o.Queries, o.Contributors, o.Canaries, o.CanaryCopies);
        var snapshot = AttributionBenchData.WriteSnapshot(Path.Combine(workDir, "snapshot"), data.Train);
        var baseModel = BaseModel(workDir, o, log, ct);
        Done("data and base model");

        var adapter = Path.Combine(workDir, "adapter-full-0");
        Train(baseModel, snapshot, adapter, o, seed: 0, saveSteps: Math.Max(1, o.Steps / o.Checkpoints), ct);
        Done("LoRA training (full data)");

        var summary = GradientIndexBuilder.Run(new IndexRequest(adapter, snapshot, "bench", baseModel, Template, CutoffLen,
            Options: new IndexOptions(o.Dims, MaxCheckpoints: o.Checkpoints)), log, ct);
        Done("index build");

        using var attributor = InfluenceAttributor.Open(summary.Directory, baseModel, adapter);
        var queries = data.HeldOut.Select(r => attributor.Encode(r.Prompt, r.Response)).ToList();
        var canaries = data.Canaries.Select(c => attributor.Encode(c.Prompt, c.Response)).ToList();
        var queryWatch = Stopwatch.StartNew();
        var sketches = queries.Concat(canaries).Select(attributor.QuerySketches).ToList();
        double queryMs = queryWatch.Elapsed.TotalMilliseconds / sketches.Count;
        var scores = AllScores.ToDictionary(s => s, s => sketches.Select(q => attributor.Scores(q, s)).ToList());
        foreach (var t in sketches.SelectMany(x => x)) t.Dispose();
        Done("queries");
        // Canary precision needs no retraining: logged now, so a long run shows it before the retraining steps.
        var canaryPrecision = AllScores.ToDictionary(s => s,
            s => CanaryPrecision(data, attributor.Index.Owners, scores[s].Skip(queries.Count).ToList()));
        foreach (var (s, p) in canaryPrecision) log($"  canary precision@1 {InfluenceAttributor.MethodName(s)}: {p:F3}");
        foreach (var s in AllScores)
            CanaryDiagnostics(data, attributor.Index.Owners, scores[s].Skip(queries.Count).ToList(), s, log);

        var owners = attributor.Index.Owners;
        // The method billing uses is the one whose credit the retraining checks.
        var counterfactual = Counterfactual(data, owners, scores[IndexAttributionHook.Score].Take(queries.Count).ToList(),
            queries, snapshot, baseModel, workDir, o, log, ct);
        Done("counterfactual retraining");

        var lds = Lds(data, scores, queries.Concat(canaries).ToList(), baseModel, workDir, o, log, ct);
        Done("LDS retraining");

        var methods = AllScores.Select(s => new MethodScore(InfluenceAttributor.MethodName(s), lds[s], canaryPrecision[s])).ToList();
        var latency = AttributionLatency.Measure(attributor.Index.Manifest.Checkpoints.Select(c => c.Weight).ToList(), o.Dims,
            summary.ExamplesPerSecond, o.LatencySizes, log);
        Done("latency at scale");

        return new AttributionBenchReport(o, summary.Examples, attributor.Index.Manifest.Checkpoints.Max(c => c.Parameters), Math.Round(summary.Seconds, 2),
            Math.Round(summary.ExamplesPerSecond, 1), summary.BytesPerExample, Math.Round(queryMs, 1), o.TopK, counterfactual, methods, latency, steps);
    }

    private static void Validate(AttributionBenchOptions o)
    {
        if (o.TrainExamples < o.Contributors) throw new UserError($"need at least one example per contributor ({o.TrainExamples} < {o.Contributors})", field: "--train");
        if (o.TopK < 1 || o.TopK >= o.Contributors) throw new UserError($"must be between 1 and contributors - 1 (got {o.TopK})", field: "--top-k");
        if (o.Queries < 1 || o.Seeds < 1 || o.Steps < 1 || o.Checkpoints < 1 || o.RandomDraws < 1)
            throw new UserError("queries, seeds, random draws, steps and checkpoints must be ≥ 1");
        if (o.Subsets < 3) throw new UserError($"a rank correlation needs at least 3 subsets (got {o.Subsets})", field: "--subsets");
        if (o.BaseModel is string b && !File.Exists(Path.Combine(b, "config.json")))
            throw new UserError("no config.json: not a model folder", file: b, field: "--base-model");
    }

    /// <summary>Where <see cref="Run"/> leaves the base model every adapter is trained on (the RAG and span checks of
    /// <c>mledger bench attribution</c> reuse it).</summary>
    public static string BaseModelDirectory(string workDir, AttributionBenchOptions o) =>
        o.BaseModel ?? Path.Combine(workDir, o.BaseSteps == 0 ? "init-model" : "base-model");

    /// <summary>The quickstart's model shape (hidden 128, 4 layers) on the sample tokenizer, pre-trained on the ad copy.</summary>
    private static string BaseModel(string workDir, AttributionBenchOptions o, Action<string> log, CancellationToken ct)
    {
        if (o.BaseModel is string given)
        {
            log($"base model reused from {given} (not pre-trained in this run)");
            return given;
        }
        var init = Path.Combine(workDir, "init-model");
        RandomInit.Write(new ModelShape(LlamaArchitecture.Llama, 128, 4, 4, 2, 352, 256), Path.Combine(AppContext.BaseDirectory, "samples", "tokenizer"), init, seed: 0);
        if (o.BaseSteps == 0) return init;
        var output = BaseModelDirectory(workDir, o);
        var config = Defaults(init) with
        {
            Stage = Stage.Pt, FinetuningType = FinetuningType.Full, Dataset = "adgen_corpus", DatasetDir = Path.Combine(workDir, "adgen"),
            CutoffLen = 128, LearningRate = 3e-3, LrSchedulerType = SchedulerType.Cosine, WarmupRatio = 0.05, MaxSteps = o.BaseSteps,
            PerDeviceTrainBatchSize = 8, LoggingSteps = 50, SaveSteps = 1_000_000, Seed = 0, OutputDir = output, OverwriteOutputDir = true,
        };
        TrainingRun.Execute(config, _ => { }, ct);
        log($"base model pre-trained {o.BaseSteps} steps");
        return output;
    }

    /// <summary>A config through the key table (<see cref="TrainConfig.From"/>), so every key not set in code keeps its
    /// documented default (gradient_accumulation_steps 1, max_grad_norm 1, device cpu, ...); the required dataset and
    /// output_dir are placeholders every caller replaces.</summary>
    private static TrainConfig Defaults(string model) =>
        TrainConfig.From(RawConfig.Parse($"model_name_or_path: '{model}'\ndataset: set-below\noutput_dir: set-below",
            "bench attribution", []));

    private static void Train(string baseModel, string dataDir, string output, AttributionBenchOptions o, long seed, int saveSteps, CancellationToken ct)
    {
        var config = Defaults(baseModel) with
        {
            FinetuningType = FinetuningType.Lora, LoraRank = 8, LoraAlpha = 16, LoraTarget = "all",
            Dataset = "bench", DatasetDir = dataDir, Template = Template, CutoffLen = CutoffLen, LearningRate = 3e-3, LrSchedulerType = SchedulerType.Cosine,
            WarmupRatio = 0.05, MaxSteps = o.Steps, PerDeviceTrainBatchSize = 8, LoggingSteps = 1, SaveSteps = saveSteps, Seed = seed,
            OutputDir = output, OverwriteOutputDir = true,
        };
        TrainingRun.Execute(config, _ => { }, ct);
    }

    /// <summary>Trains on <paramref name="records"/> and returns each query's loss under the resulting adapter.</summary>
    private static double[] Retrain(IEnumerable<BenchRecord> records, string name, string baseModel, string workDir,
        IReadOnlyList<EncodedSample> queries, AttributionBenchOptions o, long seed, CancellationToken ct)
    {
        var dir = Path.Combine(workDir, "runs", name);
        var data = AttributionBenchData.WriteSnapshot(Path.Combine(dir, "data"), records);
        var adapter = Path.Combine(dir, "adapter");
        Train(baseModel, data, adapter, o, seed, saveSteps: 1_000_000, ct);
        using var model = PretrainedModel.Load(baseModel);
        using var gradients = GradientModel.Attach(model, adapter, null);
        var losses = queries.Select(gradients.Loss).ToArray();
        Directory.Delete(dir, recursive: true);
        return losses;
    }

    /// <summary>Per seed: the query-loss increase from removing each query's top-k attributed contributors, against
    /// removing k random contributors, both relative to training on everything with that seed.</summary>
    private static List<CounterfactualSeed> Counterfactual(AttributionBenchData data, IReadOnlyList<RecordOwner> owners, IReadOnlyList<double[]> scores,
        IReadOnlyList<EncodedSample> queries, string snapshot, string baseModel, string workDir, AttributionBenchOptions o, Action<string> log, CancellationToken ct)
    {
        var contributors = data.Train.Select(r => r.Contributor).Distinct().Order(StringComparer.Ordinal).ToList();
        var rows = new List<CounterfactualSeed>();
        for (int seed = 0; seed < o.Seeds; seed++)
        {
            var full = Retrain(data.Train, $"full-{seed}", baseModel, workDir, queries, o, seed, ct);
            var pairs = new List<CounterfactualQuery>();
            for (int q = 0; q < queries.Count; q++)
            {
                var totals = new Dictionary<string, double>(StringComparer.Ordinal);
                for (int i = 0; i < owners.Count; i++) totals[owners[i].Contributor] = totals.GetValueOrDefault(owners[i].Contributor) + scores[q][i];
                var topSet = totals.OrderByDescending(kv => kv.Value).Take(o.TopK).Select(kv => kv.Key).ToHashSet();
                double dTop = Retrain(data.Train.Where(r => !topSet.Contains(r.Contributor)), $"top-{seed}-{q}", baseModel, workDir, [queries[q]], o, seed, ct)[0] - full[q];
                // Retraining on different data reorders the batches, so one random removal is mostly that noise;
                // the baseline averages several independent random draws.
                var rng = new Random(seed * 1000 + q);
                var draws = new List<string>();
                double dRandom = 0;
                for (int d = 0; d < o.RandomDraws; d++)
                {
                    var randomSet = contributors.OrderBy(_ => rng.Next()).Take(o.TopK).ToHashSet();
                    double delta = Retrain(data.Train.Where(r => !randomSet.Contains(r.Contributor)),
                        $"random-{seed}-{q}-{d}", baseModel, workDir, [queries[q]], o, seed, ct)[0] - full[q];
                    draws.Add($"{string.Join(",", randomSet)} {delta:+0.0000;-0.0000}");
                    dRandom += delta / o.RandomDraws;
                }
                log($"  seed {seed} query {q}: remove top {string.Join(",", topSet)} → Δloss {dTop:+0.0000;-0.0000}; " +
                    $"random (mean of {o.RandomDraws}) {dRandom:+0.0000;-0.0000}: {string.Join("; ", draws)}");
                pairs.Add(new CounterfactualQuery(seed, q, dTop, dRandom));
            }
            double top = pairs.Average(p => p.TopIncrease), random = pairs.Average(p => p.RandomIncrease);
            rows.Add(new CounterfactualSeed(seed, Math.Round(top, 5), Math.Round(random, 5), Math.Round(top / random, 3),
                pairs.Count(p => p.TopIncrease > p.RandomIncrease), pairs));
        }
        return rows;
    }

    /// <summary>TRAK's linear datamodeling score: per query, Spearman correlation over random 50 % subsets S between the
    /// predicted effect Σ_{i∈S} score_i and the actual −loss after training on S; averaged over queries.</summary>
    private static Dictionary<InfluenceScore, double> Lds(AttributionBenchData data, Dictionary<InfluenceScore, List<double[]>> scores,
        IReadOnlyList<EncodedSample> queries, string baseModel, string workDir, AttributionBenchOptions o, Action<string> log, CancellationToken ct)
    {
        var subsets = new List<bool[]>();
        var actual = new List<double[]>();
        for (int m = 0; m < o.Subsets; m++)
        {
            var rng = new Random(10_000 + m);
            var chosen = Enumerable.Range(0, data.Train.Count).Select(_ => rng.NextDouble() < 0.5).ToArray();
            subsets.Add(chosen);
            actual.Add(Retrain(data.Train.Where((_, i) => chosen[i]), $"subset-{m}", baseModel, workDir, queries, o, seed: 0, ct));
            log($"  subset {m + 1}/{o.Subsets} trained");
        }
        return AllScores.ToDictionary(s => s, s => Math.Round(Enumerable.Range(0, queries.Count).Average(q =>
            Rewards.Simulation.Statistics.Spearman(subsets.Select(set => set.Select((inSet, i) => inSet ? scores[s][q][i] : 0).Sum()).ToArray(),
                actual.Select(l => -l[q]).ToArray())), 4));
    }

    /// <summary>Why a score misses a canary: per canary, the rank of its best-scored copy among all examples, the
    /// share of the owner's total that its canary copies make, and the top contributor against the owner.</summary>
    private static void CanaryDiagnostics(AttributionBenchData data, IReadOnlyList<RecordOwner> owners,
        IReadOnlyList<double[]> scores, InfluenceScore score, Action<string> log)
    {
        for (int j = 0; j < data.Canaries.Count; j++)
        {
            var s = scores[j];
            string prefix = $"canary-{j}-";
            var order = Enumerable.Range(0, s.Length).OrderByDescending(i => s[i]).ToList();
            int bestCopy = order.FindIndex(i => owners[i].Item.StartsWith(prefix, StringComparison.Ordinal)) + 1;
            var totals = owners.Select((o, i) => (o.Contributor, Score: s[i])).GroupBy(x => x.Contributor)
                .ToDictionary(g => g.Key, g => g.Sum(x => x.Score), StringComparer.Ordinal);
            var owner = data.Canaries[j].Contributor;
            double copies = owners.Select((o, i) => o.Item.StartsWith(prefix, StringComparison.Ordinal) ? s[i] : 0).Sum();
            var top = totals.MaxBy(kv => kv.Value);
            log($"    {InfluenceAttributor.MethodName(score)} canary {j}: best copy ranks {bestCopy}/{s.Length}; owner {owner} total " +
                $"{totals[owner]:G4} (copies {copies:G4}, {owners.Count(o => o.Contributor == owner)} examples); top {top.Key} {top.Value:G4} " +
                $"({owners.Count(o => o.Contributor == top.Key)} examples)");
        }
    }

    private static double CanaryPrecision(AttributionBenchData data, IReadOnlyList<RecordOwner> owners, IReadOnlyList<double[]> scores)
    {
        if (data.Canaries.Count == 0) return double.NaN;
        int hits = 0;
        for (int j = 0; j < data.Canaries.Count; j++)
        {
            var shares = ContributorShares.From(owners, scores[j]);
            if (shares.Count > 0 && shares[0].Contributor == data.Canaries[j].Contributor) hits++;
        }
        return Math.Round((double)hits / data.Canaries.Count, 3);
    }
}
