using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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

/// <summary>
/// The training loop: micro-batches in a seeded order per epoch, gradient accumulation, clipping, AdamW with a
/// warmup schedule, logging, evaluation, checkpoints and exact resume. One dispose scope per micro-batch; numbers leave
/// the scope, tensors do not. Cancellation saves a checkpoint and returns.
/// </summary>
internal sealed class Trainer(TunableModel model, TrainingData data, TrainConfig config, Action<string> log)
{
    private readonly string _outputDir = config.OutputDir;

    /// <summary>Called after each optimizer step with (step, total steps).</summary>
    public Action<int, int>? OnStep { get; init; }

    public TrainResult Run(CancellationToken cancellation)
    {
        int microPerEpoch = (data.Train.Count + config.PerDeviceTrainBatchSize - 1) / config.PerDeviceTrainBatchSize;
        int stepsPerEpoch = Math.Max(1, microPerEpoch / config.GradientAccumulationSteps);
        int totalSteps = config.MaxSteps > 0 ? config.MaxSteps : (int)Math.Ceiling(config.NumTrainEpochs * stepsPerEpoch);
        int warmup = config.WarmupSteps > 0 ? config.WarmupSteps : (int)Math.Ceiling(config.WarmupRatio * totalSteps);
        var schedule = new LrSchedule(config.LrSchedulerType, config.LearningRate, warmup, totalSteps);
        using var optimizer = new AdamW(model.Trainable, config.LearningRate, config.WeightDecay);
        var trainerLog = new TrainerLog(Path.Combine(_outputDir, "trainer_log.jsonl"));
        string dataPrint = DataFingerprint(), schedulePrint = ScheduleFingerprint(warmup);

        manual_seed(config.Seed);
        int step = 0;
        long micro = 0;
        if (config.ResumeFromCheckpoint is string spec)
        {
            var checkpoint = Checkpoints.Resolve(_outputDir, spec);
            var state = Checkpoints.ReadState(checkpoint);
            if (state.DataFingerprint != dataPrint)
                throw new UserError("the training data changed since this checkpoint was written; resuming would not continue the same run",
                    field: "resume_from_checkpoint", hint: "restore the dataset and its settings (cutoff_len, val_size, packing, seed), or start a new output_dir");
            if (state.ScheduleFingerprint != schedulePrint)
                throw new UserError($"the optimisation settings changed since the checkpoint ({state.ScheduleFingerprint} → {schedulePrint})",
                    field: "resume_from_checkpoint", hint: "keep learning_rate, scheduler, warmup, batch size and accumulation as they were");
            Checkpoints.Restore(checkpoint, model, optimizer, state.GlobalStep);
            (step, micro) = (state.GlobalStep, state.MicroBatch);
            if (totalSteps != state.TotalSteps) log($"note: total steps {state.TotalSteps} → {totalSteps} (training extended); the schedule follows the new total");
            log($"resumed from {checkpoint}: step {step}, epoch {(double)micro / microPerEpoch:F2}, lr {schedule.At(step):G3}, data position {micro % microPerEpoch}/{microPerEpoch}");
            trainerLog.Reset(step);
        }
        else trainerLog.Reset(-1);

        var network = model.Model.Network;
        network.train();
        int startStep = step;
        var watch = Stopwatch.StartNew();
        double windowLoss = 0, allLoss = 0;
        int windowSteps = 0, lossSteps = 0;
        long windowTokens = 0, allTokens = 0;
        double windowStart = 0;
        double? lastEval = null;
        string? lastCheckpoint = null;
        bool interrupted = false;
        while (step < totalSteps)
        {
            if (cancellation.IsCancellationRequested) { interrupted = true; break; }
            double stepLoss = 0;
            long stepStart = micro;
            try
            {
                for (int a = 0; a < config.GradientAccumulationSteps; a++, micro++)
                {
                    var (loss, tokens) = MicroBatch(micro, microPerEpoch, config.GradientAccumulationSteps);
                    stepLoss += loss / config.GradientAccumulationSteps;
                    windowTokens += tokens;
                    allTokens += tokens;
                }
            }
            catch (Exception e) when (IsOutOfMemory(e))
            {
                // The step never completed: drop its partial gradients, keep the last completed step as a checkpoint.
                optimizer.ZeroGrad();
                var saved = SaveCheckpoint(step, stepStart, totalSteps, dataPrint, schedulePrint, optimizer, (double)stepStart / microPerEpoch);
                throw new UserError($"out of memory at step {step + 1} ({e.Message.Split('\n')[0]}); saved {saved}",
                    field: "per_device_train_batch_size",
                    hint: "lower per_device_train_batch_size (raise gradient_accumulation_steps to keep the effective batch), lower cutoff_len, " +
                          "set gradient_checkpointing: true, or quantization_bit: 4 for LoRA; then resume_from_checkpoint: latest");
            }
            if (config.MaxGradNorm > 0) nn.utils.clip_grad_norm_(model.Trainable.Select(p => p.Param).ToList(), config.MaxGradNorm);
            optimizer.LearningRate = schedule.At(step);
            optimizer.Update();
            optimizer.ZeroGrad();
            step++;
            OnStep?.Invoke(step, totalSteps);
            windowLoss += stepLoss; windowSteps++; allLoss += stepLoss; lossSteps++;
            double epoch = (double)micro / microPerEpoch;
            bool evalNow = data.Validation.Count > 0 && config.EvalSteps is int every && step % every == 0;
            if (evalNow) lastEval = Evaluate();
            if (step % config.LoggingSteps == 0 || step == totalSteps || evalNow)
            {
                double elapsed = watch.Elapsed.TotalSeconds;
                double rate = windowTokens / Math.Max(1e-9, elapsed - windowStart);
                double remaining = elapsed / Math.Max(1, step - startStep) * (totalSteps - step);
                var entry = new TrainLogEntry(step, totalSteps, windowSteps > 0 ? Math.Round(windowLoss / windowSteps, 6) : null, evalNow ? lastEval : null,
                    optimizer.LearningRate, Math.Round(epoch, 4), Math.Round(100.0 * step / totalSteps, 2), TrainerLog.Clock(elapsed),
                    TrainerLog.Clock(remaining), Math.Round(rate, 1), Math.Round(elapsed, 3));
                trainerLog.Append(entry);
                log($"step {step}/{totalSteps}  loss {entry.Loss:F4}{(evalNow ? $"  eval_loss {lastEval:F4}" : "")}  lr {entry.LearningRate:G3}  epoch {epoch:F2}  {rate:F0} tok/s  elapsed {entry.Elapsed}  eta {entry.Remaining}");
                (windowLoss, windowSteps, windowTokens, windowStart) = (0, 0, 0, elapsed);
            }
            if (step % config.SaveSteps == 0)
                lastCheckpoint = SaveCheckpoint(step, micro, totalSteps, dataPrint, schedulePrint, optimizer, epoch);
        }
        if (interrupted)
        {
            lastCheckpoint = SaveCheckpoint(step, micro, totalSteps, dataPrint, schedulePrint, optimizer, (double)micro / microPerEpoch);
            log($"interrupted at step {step}: saved {lastCheckpoint}; continue with resume_from_checkpoint: latest");
        }
        if (data.Validation.Count > 0 && !interrupted) lastEval = Evaluate();
        double runtime = watch.Elapsed.TotalSeconds;
        return new TrainResult(step, Math.Round((double)micro / microPerEpoch, 4), lossSteps > 0 ? allLoss / lossSteps : double.NaN, lastEval, runtime,
            allTokens / Math.Max(1e-9, runtime), model.TrainableCount, model.TotalCount, interrupted, lastCheckpoint);
    }

    /// <summary>Test hook: throw a simulated allocator failure at this micro-batch (null in real runs).</summary>
    internal long? FailAtMicroBatch { get; init; }

    private static bool IsOutOfMemory(Exception e) => e is OutOfMemoryException
        || (e is System.Runtime.InteropServices.ExternalException && (e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase)));

    private string SaveCheckpoint(int step, long micro, int total, string dataPrint, string schedulePrint, AdamW optimizer, double epoch)
    {
        var state = new TrainerState(TrainerState.CurrentVersion, step, micro, total, dataPrint, schedulePrint, epoch);
        var path = Checkpoints.Save(_outputDir, state, model.Trainable.Select(p => (p.Name, (Tensor)p.Param)), optimizer, config.SaveTotalLimit);
        log($"saved {path}");
        return path;
    }

    /// <summary>Forward and backward of micro-batch number <paramref name="micro"/> (global); returns its mean loss and
    /// the number of real (non-padding) tokens.</summary>
    private (double Loss, long Tokens) MicroBatch(long micro, int microPerEpoch, int accumulation)
    {
        if (micro == FailAtMicroBatch) throw new System.Runtime.InteropServices.ExternalException("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123456789 bytes");
        using var scope = NewDisposeScope();
        var order = EpochOrder((int)(micro / microPerEpoch));
        int first = (int)(micro % microPerEpoch) * config.PerDeviceTrainBatchSize;
        var rows = order.Skip(first).Take(config.PerDeviceTrainBatchSize).Select(i => data.Train[i]).ToList();
        var batch = Batch.From(rows, model.Model.Tokenizer.PadId ?? 0, model.Model.Network.Device);
        var loss = Loss(batch);
        (loss / accumulation).backward();
        return (loss.item<float>(), batch.Tokens);
    }

    /// <summary>Mean next-token cross-entropy over the labelled positions.</summary>
    private Tensor Loss(Batch batch)
    {
        var logits = model.Model.Network.TrainingLogits(batch.Ids, batch.Positions, batch.Segments);   // [B, T, V]
        long vocab = logits.shape[2], length = logits.shape[1];
        var predicted = logits.narrow(1, 0, length - 1).reshape(-1, vocab).to(ScalarType.Float32);
        var targets = batch.Labels.narrow(1, 1, length - 1).reshape(-1);
        return nn.functional.cross_entropy(predicted, targets, ignore_index: EncodedSample.Ignore);
    }

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

    private int[] EpochOrder(int epoch)
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
