using System.Diagnostics;
using System.Text.Json;
using ModelLedger.Jobs;
using ModelLedger.Jobs.Predict;
using ModelLedger.Jobs.Train;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Training;

namespace ModelLedger.Bench;

/// <summary>One method's measurement, produced in its own process so peak RSS belongs to that method alone.</summary>
public sealed record FinetuneRow(string Method, long TrainableParameters, long TotalParameters, double TokensPerSecond,
    long PeakRssBytes, long StoredWeightBytes, double FinalTrainLoss, double? EvalLoss, int Steps)
{
    /// <summary>LLaMA-Factory ROUGE-L and BLEU-4 on the ad test split (the --adgen scenario), else null.</summary>
    public double? RougeL { get; init; }
    public double? Bleu4 { get; init; }
    /// <summary>Resident bytes before the model was loaded: the .NET runtime and libtorch.</summary>
    public long RuntimeRssBytes { get; init; }
    /// <summary>Peak resident bytes when training began: loading, quantizing and preparing (0: not measured).</summary>
    public long PreparedPeakRssBytes { get; init; }
    /// <summary>Peak resident bytes from the first step on (the kernel's peak reset when training began), what the
    /// steps, evaluation and saving need beside the loaded model; 0: not measured. The process peak is the larger of
    /// this and <see cref="PreparedPeakRssBytes"/>, so where loading is the peak this shows what training alone
    /// reached.</summary>
    public long TrainingPeakRssBytes { get; init; }
    /// <summary>CPU seconds (user + system, every thread) per optimizer step over the steps after the first — the
    /// same steps as tokens/s; unlike wall-clock speed it barely moves with other load on the machine, so it shows
    /// the CPU cost of an allocator or memory setting (0: not measured).</summary>
    public double CpuSecondsPerStep { get; init; }
    /// <summary>Minor page faults per step over the same steps: fresh pages the kernel had to hand out (and zero),
    /// what an allocator that returns memory pays; does not depend on other load (0: not measured).</summary>
    public double FaultsPerStep { get; init; }
    /// <summary>Gradients and AdamW's two fp32 moments of the trainable parameters; bf16 parameters have bf16
    /// gradients and an fp32 master copy besides (AdamW's mixed precision).</summary>
    public long OptimizerBytes => TrainableParameters
        * (Method.EndsWith(FinetuneBenchmark.BFloat16, StringComparison.Ordinal) ? 2 + 4 + 4 + 4 : 4 * 3);
    /// <summary>What the peak holds beyond runtime, weights and optimizer: activations kept for backward, the
    /// logits and loss, dequantize buffers, allocator slack (libtorch's CPU allocator does not split these).</summary>
    public long ActivationBytes => Math.Max(0, PeakRssBytes - RuntimeRssBytes - StoredWeightBytes - OptimizerBytes);
}

/// <summary>
/// Full, freeze, LoRA, QLoRA-NF4 and P-Tuning v2 on the same data, sequence length, batch and step count, each through
/// the real training job (<see cref="TrainJob"/>). Throughput is measured after the first logging window
/// (warm-up) and set against the machine's measured fp32 matmul peak (model FLOP/s = 6 · parameters · tokens/s).
/// </summary>
public static class FinetuneBenchmark
{
    public static readonly string[] BaseMethods = ["full", "freeze", "lora", "qlora-nf4", "ptuning"];

    /// <summary>A method name with this suffix trains with gradient checkpointing.</summary>
    public const string Checkpointed = "+gc";

    /// <summary>A method name with this suffix keeps weights and activations in bfloat16 (the <c>bf16</c> key).</summary>
    public const string BFloat16 = "+bf16";

    /// <summary>Every method without and with gradient checkpointing (the memory table compares both). The bf16
    /// variants are asked for by name: on a CPU without bf16 instructions libtorch computes them several times slower.
    /// </summary>
    public static readonly string[] Methods = [.. BaseMethods, .. BaseMethods.Select(m => m + Checkpointed)];

    /// <summary>A method name split into its base method and its variant suffix (<c>""</c>, <c>+gc</c>, <c>+bf16</c>
    /// or <c>+gc+bf16</c>, in that order).</summary>
    public static (string Base, string Variant) Split(string method)
    {
        int plus = method.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? (method, "") : (method[..plus], method[plus..]);
    }

    private static readonly string[] Variants = ["", Checkpointed, BFloat16, Checkpointed + BFloat16];

    /// <summary>The comma-separated <c>--methods</c> list, every name checked before any method trains (a typo in
    /// the last name used to surface only after minutes of training the others).</summary>
    public static IReadOnlyList<string> ParseMethods(string list)
    {
        var names = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var known = $"{string.Join(", ", BaseMethods)}, each optionally followed by {Checkpointed} and/or {BFloat16}";
        if (names.Length == 0) throw new UserError("--methods is empty", field: "--methods", hint: known);
        foreach (var name in names)
        {
            var (baseMethod, variant) = Split(name);
            if (!BaseMethods.Contains(baseMethod) || !Variants.Contains(variant))
                throw new UserError($"unknown method '{name}'", field: "--methods", hint: known);
        }
        var twice = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
            throw new UserError($"method '{twice.Key}' is listed twice", field: "--methods");
        return names;
    }

    /// <summary>Runs one method in this process and returns its row (the child side of <c>bench finetune</c>).</summary>
    public static FinetuneRow RunOne(string method, string model, int steps, int sequence, int batch, string workDir, int? adgenSeconds = null)
    {
        using (TorchSharp.torch.zeros(1)) { }   // libtorch loaded: what is resident now is the runtime's
        long runtimeRss = Process.GetCurrentProcess().WorkingSet64;
        ParseMethods(method);
        var (baseMethod, variant) = Split(method);
        bool checkpointed = variant.StartsWith(Checkpointed, StringComparison.Ordinal);
        var data = adgenSeconds is null ? WriteDataset(Path.Combine(workDir, "data"), sequence) : Path.Combine(workDir, "data");
        if (adgenSeconds is not null) Evaluation.SampleData.AdgenGenerator.Write(data, 800, 40, seed: 0);
        var (type, extra) = baseMethod switch
        {
            "full" => (FinetuningType.Full, new Dictionary<string, string> { ["learning_rate"] = "1e-4" }),
            "freeze" => (FinetuningType.Freeze, new() { ["learning_rate"] = "1e-4", ["freeze_trainable_layers"] = "2" }),
            "lora" => (FinetuningType.Lora, new() { ["learning_rate"] = "1e-3" }),
            "qlora-nf4" => (FinetuningType.Lora, new() { ["learning_rate"] = "1e-3", ["quantization_bit"] = "4" }),
            "ptuning" => (FinetuningType.Ptuning, new() { ["learning_rate"] = "2e-2", ["pre_seq_len"] = "16" }),
            _ => throw new InvalidOperationException($"ParseMethods let '{method}' through"),
        };
        var yaml = Path.Combine(workDir, $"{method}.yaml");
        var lines = new Dictionary<string, string>
        {
            ["model_name_or_path"] = model, ["stage"] = adgenSeconds is null ? "pt" : "sft", ["finetuning_type"] = type.ToString().ToLowerInvariant(),
            ["dataset"] = adgenSeconds is null ? "bench" : "adgen_train", ["dataset_dir"] = data, ["template"] = "alpaca", ["cutoff_len"] = sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["per_device_train_batch_size"] = batch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["max_steps"] = (adgenSeconds is null ? steps : 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture), ["logging_steps"] = "1", ["save_steps"] = "100000000",
            ["val_size"] = "4", ["lr_scheduler_type"] = "constant", ["output_dir"] = Path.Combine(workDir, method), ["overwrite_output_dir"] = "true",
        };
        foreach (var (k, v) in extra) lines[k] = v;
        lines["gradient_checkpointing"] = checkpointed ? "true" : "false";   // the default is on: rows say which
        if (variant.EndsWith(BFloat16, StringComparison.Ordinal)) lines["bf16"] = "true";
        File.WriteAllLines(yaml, lines.Select(kv => $"{kv.Key}: {kv.Value}"));
        var config = TrainConfig.From(RawConfig.Load(yaml, []));
        // the --adgen scenario gives every method the same wall-clock budget, then scores the generated copy
        using var budget = adgenSeconds is int budgetSeconds ? new CancellationTokenSource(TimeSpan.FromSeconds(budgetSeconds)) : new CancellationTokenSource();
        var cpu = new StepCpu();
        var result = new TrainJob().Run(new TrainRequest(config) { SaveOnInterrupt = true }, new JobEvents(cpu.Observe),
            budget.Token).Run;
        var log = TrainerLog.Read(Path.Combine(config.OutputDir, "trainer_log.jsonl"));
        var measured = log.Skip(1).ToList();   // the first step warms up allocators and kernels
        double seconds = measured.Count == 0 ? result.RuntimeSeconds : measured[^1].ElapsedSeconds - log[0].ElapsedSeconds;
        double tokens = (double)measured.Count * batch * sequence;
        // pt blocks are full length, so tokens/s after warm-up is exact; sft rows vary, so take the trainer's own count
        double rate = adgenSeconds is not null || measured.Count == 0 ? result.TokensPerSecond : tokens / seconds;
        long finalPeak = Process.GetCurrentProcess().PeakWorkingSet64;   // since the reset, where it took
        var row = new FinetuneRow(method, result.TrainableParameters, result.TotalParameters, rate,
            cpu.PeakReset ? Math.Max(cpu.PreparedPeak, finalPeak) : finalPeak, result.StoredWeightBytes,
            log[^1].Loss ?? double.NaN, result.EvalLoss, result.Steps)
        {
            RuntimeRssBytes = runtimeRss, PreparedPeakRssBytes = cpu.PreparedPeak, CpuSecondsPerStep = cpu.PerStep,
            TrainingPeakRssBytes = cpu.PeakReset ? finalPeak : 0,
            FaultsPerStep = cpu.FaultsPerStep,
        };
        if (adgenSeconds is null) return row;
        bool adapter = type is FinetuningType.Lora or FinetuningType.Ptuning;
        var scores = new PredictJob().Run(new Evaluation.Prediction.PredictRequest(adapter ? model : config.OutputDir,
            adapter ? config.OutputDir : null, "adgen_test", data, "alpaca", 64, Path.Combine(workDir, "eval")), JobEvents.None,
            CancellationToken.None);
        return row with { RougeL = scores.RougeL, Bleu4 = scores.Bleu4 };
    }

    /// <summary>Reads the process's CPU time at the first and the last step event, and the peak RSS when training
    /// begins, then resets the kernel's peak so the final one is training's own.</summary>
    private sealed class StepCpu
    {
        private (int Step, TimeSpan Cpu, long Faults)? _first, _last;
        public long PreparedPeak { get; private set; }
        public bool PeakReset { get; private set; }

        public void Observe(JobEvent e)
        {
            if (e is PhaseEvent { Phase: "training" })
            {
                PreparedPeak = Process.GetCurrentProcess().PeakWorkingSet64;
                PeakReset = ModelLedger.Engine.Runtime.HeapStatistics.ResetPeak();
            }
            if (e is not StepEvent step) return;
            var now = (step.Step, Process.GetCurrentProcess().TotalProcessorTime, MinorFaults());
            _first ??= now;
            _last = now;
        }

        public double PerStep => _first is { } f && _last is { } l && l.Step > f.Step
            ? (l.Cpu - f.Cpu).TotalSeconds / (l.Step - f.Step) : 0;

        public double FaultsPerStep => _first is { } f && _last is { } l && l.Step > f.Step && f.Faults >= 0
            ? (double)(l.Faults - f.Faults) / (l.Step - f.Step) : 0;

        /// <summary>minflt, the 10th field of /proc/self/stat (after the parenthesised name); -1 elsewhere.</summary>
        private static long MinorFaults()
        {
            try
            {
                var stat = File.ReadAllText("/proc/self/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                return -1;
            }
        }
    }

    /// <summary>A deterministic corpus of short stories, enough for blocks of <paramref name="sequence"/> tokens.</summary>
    private static string WriteDataset(string dir, int sequence)
    {
        Directory.CreateDirectory(dir);
        string[] names = ["Lily", "Tom", "Ben", "Sue", "Max", "Mia", "Sam", "Amy"], things = ["ball", "cat", "dog", "kite", "boat", "book", "cake", "tree"];
        string[] feelings = ["happy", "sad", "excited", "sleepy", "brave", "curious"];
        var rng = new Random(11);
        var lines = new List<string>();
        for (int i = 0; i < 400 + sequence; i++)
        {
            string n = names[rng.Next(names.Length)], t = things[rng.Next(things.Length)], f = feelings[rng.Next(feelings.Length)];
            lines.Add(JsonSerializer.Serialize(new { text = $"Once upon a time, {n} found a {t} in the park. {n} felt {f} and showed the {t} to a friend. They played until the sun went down." }));
        }
        File.WriteAllLines(Path.Combine(dir, "bench.jsonl"), lines);
        File.WriteAllText(Path.Combine(dir, "dataset_info.json"), """{"bench": {"file_name": "bench.jsonl", "columns": {"prompt": "text"}}}""");
        return dir;
    }
}
