using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelLedger.Engine.Runtime;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Data;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Training;

/// <summary>The outcome of a run, as written to all_results.json.</summary>
public sealed record TrainResult(int Steps, double Epoch, double TrainLoss, double? EvalLoss, double RuntimeSeconds,
    double TokensPerSecond, long TrainableParameters, long TotalParameters, bool Interrupted, string? Checkpoint)
{
    /// <summary>Bytes the model's weights occupy as stored during training (quantized layers at their packed size).</summary>
    public long StoredWeightBytes { get; init; }
}

/// <summary>Where training stands after an optimizer step: what a progress bar, an event stream or a GUI
/// shows.</summary>
/// <param name="Loss">This step's mean loss over its micro-batches.</param>
/// <param name="TokensPerSecond">Real (non-padding) tokens per second since this process started training.</param>
/// <param name="EtaSeconds">Estimated seconds to the last step at this process's pace so far.</param>
public sealed record TrainProgress(int Step, int TotalSteps, double Loss, double TokensPerSecond, double EtaSeconds,
    double LearningRate, double Epoch);

/// <summary>
/// The training loop: micro-batches in a seeded order per epoch, gradient accumulation, clipping, AdamW with a
/// warmup schedule, logging, evaluation, checkpoints and exact resume. One dispose scope per micro-batch; numbers leave
/// the scope, tensors do not. Cancellation saves a checkpoint and returns.
/// </summary>
internal sealed class Trainer(TunableModel model, TrainingData data, TrainConfig config, Action<string> log)
{
    private readonly string _outputDir = config.OutputDir;

    /// <summary>Called after each optimizer step.</summary>
    public Action<TrainProgress>? OnStep { get; init; }

    /// <summary>The schedule, optimizer and log of one run, and the counters the loop advances.</summary>
    private sealed class LoopState(int microPerEpoch, int totalSteps, LrSchedule schedule, AdamW optimizer,
        TrainerLog trainerLog, string dataPrint, string schedulePrint)
    {
        public int MicroPerEpoch { get; } = microPerEpoch;
        public int TotalSteps { get; } = totalSteps;
        public LrSchedule Schedule { get; } = schedule;
        public AdamW Optimizer { get; } = optimizer;
        public TrainerLog Log { get; } = trainerLog;
        public string DataPrint { get; } = dataPrint;
        public string SchedulePrint { get; } = schedulePrint;
        public int Step, StartStep, WindowSteps, LossSteps;
        public long Micro, WindowTokens, AllTokens;
        public double WindowLoss, AllLoss, WindowStart;
        public double? LastEval;
        public string? LastCheckpoint;
        public Stopwatch Watch { get; } = new();
        public double Epoch => (double)Micro / MicroPerEpoch;
    }

    public TrainResult Run(CancellationToken cancellation)
    {
        int microPerEpoch = (data.Train.Count + config.PerDeviceTrainBatchSize - 1) / config.PerDeviceTrainBatchSize;
        int stepsPerEpoch = Math.Max(1, microPerEpoch / config.GradientAccumulationSteps);
        int totalSteps = config.MaxSteps > 0 ? config.MaxSteps
            : (int)Math.Ceiling(config.NumTrainEpochs * stepsPerEpoch);
        int warmup = config.WarmupSteps > 0 ? config.WarmupSteps : (int)Math.Ceiling(config.WarmupRatio * totalSteps);
        using var optimizer = new AdamW(model.Trainable, config.LearningRate, config.WeightDecay);
        var schedule = new LrSchedule(config.LrSchedulerType, config.LearningRate, warmup, totalSteps);
        var run = new LoopState(microPerEpoch, totalSteps, schedule, optimizer,
            new TrainerLog(Path.Combine(_outputDir, "trainer_log.jsonl")), DataFingerprint(), ScheduleFingerprint(warmup));
        manual_seed(config.Seed);
        ResumeOrStart(run);
        model.Model.Network.train();
        run.StartStep = run.Step;
        run.Watch.Start();
        bool interrupted = false;
        while (run.Step < totalSteps)
        {
            if (cancellation.IsCancellationRequested) { interrupted = true; break; }
            double loss = OptimizerStep(run);
            bool evalNow = data.Validation.Count > 0 && config.EvalSteps is int every && run.Step % every == 0;
            if (evalNow) run.LastEval = Evaluate();
            if (run.Step % config.LoggingSteps == 0 || run.Step == totalSteps || evalNow) LogWindow(run, evalNow);
            ReportStep(run, loss);
            if (run.Step % config.SaveSteps == 0) run.LastCheckpoint = SaveCheckpoint(run, run.Micro);
        }
        if (interrupted)
        {
            run.LastCheckpoint = SaveCheckpoint(run, run.Micro);
            log($"interrupted at step {run.Step}: saved {run.LastCheckpoint}; " +
                "continue with resume_from_checkpoint: latest");
        }
        if (data.Validation.Count > 0 && !interrupted) run.LastEval = Evaluate();
        double runtime = run.Watch.Elapsed.TotalSeconds;
        double trainLoss = run.LossSteps > 0 ? run.AllLoss / run.LossSteps : double.NaN;
        return new TrainResult(run.Step, Math.Round(run.Epoch, 4), trainLoss, run.LastEval, runtime,
            run.AllTokens / Math.Max(1e-9, runtime), model.TrainableCount, model.TotalCount, interrupted, run.LastCheckpoint);
    }

    /// <summary>Restores the checkpoint resume_from_checkpoint names (refusing when the data or the optimisation
    /// settings changed since), or starts a fresh trainer_log.jsonl.</summary>
    private void ResumeOrStart(LoopState run)
    {
        if (config.ResumeFromCheckpoint is not string spec)
        {
            run.Log.Reset(-1);
            return;
        }
        var checkpoint = Checkpoints.Resolve(_outputDir, spec);
        var state = Checkpoints.ReadState(checkpoint);
        if (state.DataFingerprint != run.DataPrint)
            throw new UserError(
                "the training data changed since this checkpoint was written; resuming would not continue the same run",
                field: "resume_from_checkpoint",
                hint: "restore the dataset and its settings (cutoff_len, val_size, packing, seed), or start a new " +
                      "output_dir");
        if (state.ScheduleFingerprint != run.SchedulePrint)
            throw new UserError(
                $"the optimisation settings changed since the checkpoint ({state.ScheduleFingerprint} → {run.SchedulePrint})",
                field: "resume_from_checkpoint",
                hint: "keep learning_rate, scheduler, warmup, batch size and accumulation as they were");
        Checkpoints.Restore(checkpoint, model, run.Optimizer, state.GlobalStep);
        (run.Step, run.Micro) = (state.GlobalStep, state.MicroBatch);
        if (run.TotalSteps != state.TotalSteps)
            log($"note: total steps {state.TotalSteps} → {run.TotalSteps} (training extended); " +
                "the schedule follows the new total");
        log($"resumed from {checkpoint}: step {run.Step}, epoch {run.Epoch:F2}, lr {run.Schedule.At(run.Step):G3}, " +
            $"data position {run.Micro % run.MicroPerEpoch}/{run.MicroPerEpoch}");
        run.Log.Reset(run.Step);
    }

    /// <summary>One optimizer step: accumulate the micro-batches, clip, update. Out of memory mid-step drops the
    /// partial gradients and saves the last completed step before stopping with the knobs to turn.</summary>
    private double OptimizerStep(LoopState run)
    {
        double stepLoss = 0;
        long stepStart = run.Micro;
        try
        {
            // As transformers (>= 4.46) does: every micro-batch's summed loss is divided by the label count of the
            // whole step, so accumulation equals one batch of the same rows even when rows differ in length.
            var micro = Enumerable.Range(0, config.GradientAccumulationSteps)
                .Select(a => Rows(run.Micro + a, run.MicroPerEpoch)).ToList();
            long items = Math.Max(1, micro.Sum(rows => rows.Sum(LabelCount)));
            for (int a = 0; a < config.GradientAccumulationSteps; a++, run.Micro++)
            {
                var (loss, tokens) = MicroBatch(run.Micro, micro[a], items);
                stepLoss += loss;
                run.WindowTokens += tokens;
                run.AllTokens += tokens;
            }
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            run.Optimizer.ZeroGrad();
            var saved = SaveCheckpoint(run, stepStart);
            throw new UserError($"out of memory at step {run.Step + 1} ({e.Message.Split('\n')[0]}); saved {saved}",
                field: "per_device_train_batch_size",
                hint: "lower per_device_train_batch_size (raise gradient_accumulation_steps to keep the effective " +
                      "batch), lower cutoff_len" + (config.GradientCheckpointing ? "" : ", set gradient_checkpointing: true") +
                      ", or quantization_bit: 4 for LoRA; then resume_from_checkpoint: latest");
        }
        if (config.MaxGradNorm > 0)
            nn.utils.clip_grad_norm_(model.Trainable.Select(p => p.Param).ToList(), config.MaxGradNorm);
        run.Optimizer.LearningRate = run.Schedule.At(run.Step);
        run.Optimizer.Update();
        run.Optimizer.ZeroGrad();
        run.Step++;
        // this step's heap holes: not resident into the next (by default with checkpointing: cheap there)
        NativeHeap.AfterOptimizerStep(NativeHeap.Current, config.GradientCheckpointing);
        TraceHeap($"step {run.Step}");
        run.WindowLoss += stepLoss;
        run.WindowSteps++;
        run.AllLoss += stepLoss;
        run.LossSteps++;
        return stepLoss;
    }

    /// <summary>Diagnostic (MLEDGER_HEAP_TRACE=ms): the heap at the window's most live and most resident samples.
    /// </summary>
    internal HeapSampler? Heap { get; init; }

    private void TraceHeap(string what)
    {
        if (Heap is null) return;
        var (live, resident) = Heap.TakeWindow();
        Console.Error.WriteLine($"heap {what}: most live: {live}; most resident: {resident}");
    }

    private double Eta(LoopState run) =>
        run.Watch.Elapsed.TotalSeconds / Math.Max(1, run.Step - run.StartStep) * (run.TotalSteps - run.Step);

    private void ReportStep(LoopState run, double loss)
    {
        if (OnStep is null) return;
        double rate = run.AllTokens / Math.Max(1e-9, run.Watch.Elapsed.TotalSeconds);
        OnStep(new TrainProgress(run.Step, run.TotalSteps, loss, rate, Eta(run), run.Optimizer.LearningRate,
            run.Epoch));
    }

    /// <summary>Appends the logging window (mean loss, lr, speed, times) to trainer_log.jsonl and the log.</summary>
    private void LogWindow(LoopState run, bool evalNow)
    {
        double elapsed = run.Watch.Elapsed.TotalSeconds;
        double rate = run.WindowTokens / Math.Max(1e-9, elapsed - run.WindowStart);
        double? windowLoss = run.WindowSteps > 0 ? Math.Round(run.WindowLoss / run.WindowSteps, 6) : null;
        var entry = new TrainLogEntry(run.Step, run.TotalSteps, windowLoss, evalNow ? run.LastEval : null, run.Optimizer.LearningRate, Math.Round(run.Epoch, 4),
            Math.Round(100.0 * run.Step / run.TotalSteps, 2), TrainerLog.Clock(elapsed), TrainerLog.Clock(Eta(run)),
            Math.Round(rate, 1), Math.Round(elapsed, 3));
        run.Log.Append(entry);
        var eval = evalNow ? $"  eval_loss {run.LastEval:F4}" : "";
        log($"step {run.Step}/{run.TotalSteps}  loss {entry.Loss:F4}{eval}  lr {entry.LearningRate:G3}  " +
            $"epoch {run.Epoch:F2}  {rate:F0} tok/s  elapsed {entry.Elapsed}  eta {entry.Remaining}");
        (run.WindowLoss, run.WindowSteps, run.WindowTokens, run.WindowStart) = (0, 0, 0, elapsed);
    }

    /// <summary>Test hook: throw a simulated allocator failure at this micro-batch (null in real runs).</summary>
    internal long? FailAtMicroBatch { get; init; }

    private static bool IsOutOfMemory(Exception e) => e is OutOfMemoryException
        || (e is System.Runtime.InteropServices.ExternalException && (e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase)));

    /// <summary>Saves the trainable weights, optimizer and data position <paramref name="micro"/> at the current
    /// step.</summary>
    private string SaveCheckpoint(LoopState run, long micro)
    {
        var state = new TrainerState(TrainerState.CurrentVersion, run.Step, micro, run.TotalSteps, run.DataPrint,
            run.SchedulePrint, (double)micro / run.MicroPerEpoch);
        var weights = model.Trainable.Select(p => (p.Name, (Tensor)p.Param));
        var path = Checkpoints.Save(_outputDir, state, weights, run.Optimizer, config.SaveTotalLimit);
        log($"saved {path}");
        return path;
    }

    /// <summary>Forward and backward of micro-batch number <paramref name="micro"/> (global), holding
    /// <paramref name="rows"/>: its summed loss divided
    /// by <paramref name="items"/> (the step's label count); returns that share of the step loss and the number of
    /// real (non-padding) tokens.</summary>
    private (double Loss, long Tokens) MicroBatch(long micro, List<EncodedSample> rows, long items)
    {
        if (micro == FailAtMicroBatch) throw new System.Runtime.InteropServices.ExternalException("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123456789 bytes");
        using var scope = NewDisposeScope();
        var batch = Batch.From(rows, model.Model.Tokenizer.PadId ?? 0, model.Model.Network.Device);
        var loss = Loss(batch, summed: true).Over(items);
        Backward.Run(loss);   // a failure inside a custom backward surfaces here (out of memory included)
        return (loss.item<float>(), batch.Tokens);
    }

    private List<EncodedSample> Rows(long micro, int microPerEpoch)
    {
        var order = EpochOrder((int)(micro / microPerEpoch));
        int first = (int)(micro % microPerEpoch) * config.PerDeviceTrainBatchSize;
        return order.Skip(first).Take(config.PerDeviceTrainBatchSize).Select(i => data.Train[i]).ToList();
    }

    /// <summary>Labels that are not ignored, counted on the unshifted labels as HF's <c>num_items_in_batch</c> is
    /// (a labelled first token is counted though it is never predicted).</summary>
    private static long LabelCount(EncodedSample s) => s.Labels.Count(l => l != EncodedSample.Ignore);

    /// <summary>Next-token cross-entropy over the labelled positions: their mean, or their sum.</summary>
    private Tensor Loss(Batch batch, bool summed = false) =>
        Engine.Models.CausalLmLoss.Compute(model.Model.Network, batch.Ids, batch.Labels, batch.Positions,
            batch.Segments, EncodedSample.Ignore, summed);

    /// <summary>Token-weighted mean loss over the validation split, dropout off.</summary>
    public double Evaluate()
    {
        var network = model.Model.Network;
        network.eval();
        double total = 0;
        long count = 0;
        using (no_grad())
            foreach (var chunk in data.Validation.Chunk(config.PerDeviceTrainBatchSize))
            {
                using var scope = NewDisposeScope();
                var batch = Batch.From(chunk, model.Model.Tokenizer.PadId ?? 0, network.Device);
                long labelled = chunk.Sum(s => s.Labels.Skip(1).Count(l => l != EncodedSample.Ignore));
                if (labelled == 0) continue;
                total += Loss(batch).item<float>() * labelled;
                count += labelled;
            }
        network.train();
        return count == 0 ? double.NaN : Math.Round(total / count, 6);
    }

    private (int Epoch, int[] Order)? _order;

    private int[] EpochOrder(int epoch)
    {
        if (_order is { } cached && cached.Epoch == epoch) return cached.Order;
        _order = (epoch, ShuffledOrder(epoch));
        return _order.Value.Order;
    }

    private int[] ShuffledOrder(int epoch)
    {
        // A fixed mix, not HashCode.Combine (randomised per process): the order must be the same in a resumed process.
        var rng = new Random(unchecked((int)config.Seed * 1_000_003 + epoch * 7_919 + 17));
        return Enumerable.Range(0, data.Train.Count).OrderBy(_ => rng.Next()).ToArray();
    }

    private string DataFingerprint()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var s in data.Train.Concat(data.Validation))
        {
            foreach (var id in s.Ids) sha.AppendData(BitConverter.GetBytes(id));
            foreach (var l in s.Labels) sha.AppendData(BitConverter.GetBytes(l));
            sha.AppendData(BitConverter.GetBytes(-1));
        }
        return Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant();
    }

    private string ScheduleFingerprint(int warmup) => string.Join(",", config.FinetuningType, config.LearningRate, config.LrSchedulerType, warmup,
        config.PerDeviceTrainBatchSize, config.GradientAccumulationSteps, config.WeightDecay, config.MaxGradNorm, config.Seed).ToLowerInvariant();

    /// <summary>Writes all_results.json as LLaMA-Factory names its fields.</summary>
    public static void WriteResults(string outputDir, TrainResult r)
    {
        var results = new Dictionary<string, object?>
        {
            ["epoch"] = r.Epoch,
            ["train_loss"] = double.IsNaN(r.TrainLoss) ? null : Math.Round(r.TrainLoss, 6),
            ["train_runtime"] = Math.Round(r.RuntimeSeconds, 3),
            ["train_steps"] = r.Steps,
            ["train_tokens_per_second"] = Math.Round(r.TokensPerSecond, 1),
            ["eval_loss"] = r.EvalLoss,
            ["trainable_params"] = r.TrainableParameters,
            ["all_params"] = r.TotalParameters,
        };
        File.WriteAllText(Path.Combine(outputDir, "all_results.json"), JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
    }
}

/// <summary>A right-padded micro-batch: ids and labels [B, T]; positions and segments only when rows are packed.</summary>
internal sealed record Batch(Tensor Ids, Tensor Labels, Tensor? Positions, Tensor? Segments, long Tokens)
{
    public static Batch From(IReadOnlyList<EncodedSample> rows, int pad, Device device)
    {
        int width = rows.Max(r => r.Length), batch = rows.Count;
        var ids = new long[batch * width];
        var labels = new long[batch * width];
        var positions = new long[batch * width];
        var segments = new long[batch * width];
        bool packed = rows.Any(r => r.Segments.Length > 0 && r.Segments[^1] > 1);
        long tokens = 0;
        for (int b = 0; b < batch; b++)
        {
            var r = rows[b];
            int segmentStart = 0;
            for (int t = 0; t < width; t++)
            {
                int at = b * width + t;
                bool real = t < r.Length;
                ids[at] = real ? r.Ids[t] : pad;
                labels[at] = real ? r.Labels[t] : EncodedSample.Ignore;
                if (real && t > 0 && r.Segments[t] != r.Segments[t - 1]) segmentStart = t;
                positions[at] = real ? t - segmentStart : 0;
                segments[at] = real ? r.Segments[t] : 0;
                if (real) tokens++;
            }
            // a sample's first token is never a target of the one before it
            for (int t = 1; t < r.Length; t++) if (r.Segments[t] != r.Segments[t - 1]) labels[b * width + t] = EncodedSample.Ignore;
        }
        Tensor Make(long[] v) => tensor(v, [batch, width], device: device);
        return new Batch(Make(ids), Make(labels), packed ? Make(positions) : null, packed ? Make(segments) : null, tokens);
    }
}
