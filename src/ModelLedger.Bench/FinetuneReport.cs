using System.Globalization;
using System.Text;

namespace ModelLedger.Bench;

/// <summary>The finetune benchmark as a markdown table, every speed also as a ratio (vs full, vs P-Tuning, of peak).</summary>
public static class FinetuneReport
{
    public static string Markdown(IReadOnlyList<FinetuneRow> rows, double peakGflops, string model, int steps,
        int sequence, int batch, IReadOnlyList<PyTorchRow>? peers = null)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        bool scoredRun = rows.Any(r => r.RougeL is not null);
        sb.AppendLine(scoredRun
            ? string.Create(inv, $"### bench finetune --adgen-seconds — {Path.GetFileName(Path.TrimEndingDirectorySeparator(model))}, sft on the ad dataset for the same wall-clock time per method, batch {batch}, fp32, {Environment.ProcessorCount} cores")
            : string.Create(inv, $"### bench finetune — {Path.GetFileName(Path.TrimEndingDirectorySeparator(model))}, {steps} steps of {batch} x {sequence} tokens, fp32, {Environment.ProcessorCount} cores"));
        sb.AppendLine();
        sb.AppendLine(inv, $"Measured fp32 matmul peak: {peakGflops:F1} GFLOP/s. Model FLOP/s = 6 x parameters x tokens/s (the usual MFU convention).");
        sb.AppendLine();
        bool scored = rows.Any(r => r.RougeL is not null), peered = peers is { Count: > 0 };
        if (peered)
        {
            var first = peers![0];
            sb.AppendLine(inv, $"PyTorch peer: torch {first.TorchVersion}, {first.Threads} threads, " +
                $"BLAS {first.Blas}; each method ran right after ours.").AppendLine();
        }
        sb.AppendLine("| method | trainable params | tokens/s |" + (peered ? " PyTorch tokens/s | vs PyTorch |" : "") +
            " vs full | vs P-Tuning v2 | of matmul peak | peak RSS MiB | stored weights MiB | final train loss |" +
            " eval loss |"
            + (scored ? " steps | ROUGE-L | BLEU-4 |" : ""));
        sb.AppendLine("|---|---:|---:|" + (peered ? "---:|---:|" : "") + "---:|---:|---:|---:|---:|---:|---:|"
            + (scored ? "---:|---:|---:|" : ""));
        foreach (var r in rows)
        {
            var (full, ptuning) = (Peer(rows, r, "full"), Peer(rows, r, "ptuning"));
            double mfu = 6.0 * r.TotalParameters * r.TokensPerSecond / 1e9 / peakGflops;
            var extra = scored ? string.Create(inv, $" {r.Steps} | {r.RougeL:F2} | {r.Bleu4:F2} |") : "";
            var peer = peers?.FirstOrDefault(x => x.Method == r.Method);
            var vsPeer = !peered ? "" : peer is null ? " - | - |"
                : string.Create(inv, $" {peer.TokensPerSecond:F1} | {r.TokensPerSecond / peer.TokensPerSecond:F2}x |");
            double share = 100.0 * r.TrainableParameters / r.TotalParameters;
            sb.Append(inv, $"| {r.Method} | {r.TrainableParameters:N0} ({share:F2}%) | {r.TokensPerSecond:F1} |")
                .Append(vsPeer).Append(inv, $" " +
                $"{(full is null ? "-" : (r.TokensPerSecond / full.TokensPerSecond).ToString("F2", inv) + "x")} | " +
                $"{(ptuning is null ? "-" : (r.TokensPerSecond / ptuning.TokensPerSecond).ToString("F2", inv) + "x")} | {mfu:P1} | " +
                $"{r.PeakRssBytes / 1048576.0:F0} | {r.StoredWeightBytes / 1048576.0:F1} | {r.FinalTrainLoss:F4} | {(r.EvalLoss is double e ? e.ToString("F4", inv) : "-")} |").AppendLine(extra);
        }
        if (!scoredRun) AppendMemory(sb, rows);
        AppendBFloat16(sb, rows);
        return sb.ToString();
    }

    /// <summary>The row of <paramref name="method"/> trained the same way as <paramref name="row"/> (the same
    /// checkpointing and dtype variant), if the run has one.</summary>
    private static FinetuneRow? Peer(IReadOnlyList<FinetuneRow> rows, FinetuneRow row, string method) =>
        rows.FirstOrDefault(r => r.Method == method + FinetuneBenchmark.Split(row.Method).Variant);

    private static void AppendMemory(StringBuilder sb, IReadOnlyList<FinetuneRow> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine();
        sb.AppendLine("Peak memory, broken down (MiB; peak RSS of the method's own process). Runtime: resident " +
            "before the model loaded. Optimizer: gradients and AdamW's two moments of the trainable parameters. " +
            "Activations: the rest of the peak (saved activations, logits and loss, dequantize buffers, allocator " +
            "slack). Prepared: the peak before the first step (loading, quantizing). Training: the peak from the " +
            "first step on (steps, evaluation, saving; the kernel's peak reset when training began). CPU s/step: " +
            "user + system CPU " +
            "seconds per step after the first (the tokens/s steps); less sensitive to other load than speed, though " +
            "OpenMP threads spinning at barriers on a busy machine count too. Faults/step: minor page faults per " +
            "step (fresh pages), independent of load.");
        sb.AppendLine($"malloc: {ModelLedger.Engine.Runtime.MallocLibrary.InUse()} (./mledger preloads jemalloc " +
            "when it is installed; MLEDGER_ALLOCATOR=glibc leaves glibc's).");
        sb.AppendLine();
        sb.AppendLine("| method | peak RSS | runtime | weights | optimizer | activations | prepared | training " +
            "| peak vs LoRA | training vs LoRA | speed vs LoRA | CPU s/step | CPU vs LoRA | faults/step |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            var lora = Peer(rows, r, "lora");
            string Ratio(double? x) => x is double v ? v.ToString("F2", inv) + "x" : "-";
            double? training = r.TrainingPeakRssBytes > 0 && lora?.TrainingPeakRssBytes > 0
                ? (double)r.TrainingPeakRssBytes / lora.TrainingPeakRssBytes : null;
            sb.AppendLine(inv, $"| {r.Method} | {Mib(r.PeakRssBytes)} | {Mib(r.RuntimeRssBytes)} | " +
                $"{Mib(r.StoredWeightBytes)} | {Mib(r.OptimizerBytes)} | {Mib(r.ActivationBytes)} | " +
                $"{Mib(r.PreparedPeakRssBytes)} | " +
                $"{(r.TrainingPeakRssBytes > 0 ? Mib(r.TrainingPeakRssBytes) : "-")} | " +
                $"{Ratio((double?)r.PeakRssBytes / lora?.PeakRssBytes)} | {Ratio(training)} | " +
                $"{Ratio(r.TokensPerSecond / lora?.TokensPerSecond)} | {r.CpuSecondsPerStep:F2} | " +
                $"{Ratio(r.CpuSecondsPerStep / lora?.CpuSecondsPerStep)} | {r.FaultsPerStep:F0} |");
        }
    }

    /// <summary>Each +bf16 row against the same method in fp32: what bfloat16 buys (speed, memory) and what it costs
    /// (the losses after the same steps on the same data and seed).</summary>
    private static void AppendBFloat16(StringBuilder sb, IReadOnlyList<FinetuneRow> rows)
    {
        var pairs = rows.Where(r => r.Method.EndsWith(FinetuneBenchmark.BFloat16, StringComparison.Ordinal))
            .Select(r => (Bf16: r, Fp32: rows.FirstOrDefault(x => x.Method == r.Method[..^FinetuneBenchmark.BFloat16.Length])))
            .Where(p => p.Fp32 is not null).ToList();
        if (pairs.Count == 0) return;
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine();
        sb.AppendLine("bfloat16 (weights and activations, the bf16 key) against the same method in fp32, same data, " +
            "seed and steps. Loss difference = bf16 minus fp32.");
        sb.AppendLine();
        sb.AppendLine("| method | speed vs fp32 | peak RSS vs fp32 | final train loss | fp32 | difference | eval loss " +
            "| fp32 | difference |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (b, f) in pairs)
        {
            string Loss(double? x) => x is double v ? v.ToString("F4", inv) : "-";
            sb.AppendLine(inv, $"| {b.Method} | {b.TokensPerSecond / f!.TokensPerSecond:F2}x | " +
                $"{(double)b.PeakRssBytes / f.PeakRssBytes:F2}x | {Loss(b.FinalTrainLoss)} | {Loss(f.FinalTrainLoss)} | " +
                $"{b.FinalTrainLoss - f.FinalTrainLoss:+0.0000;-0.0000;0.0000} | {Loss(b.EvalLoss)} | {Loss(f.EvalLoss)} | " +
                $"{(b.EvalLoss - f.EvalLoss is double d ? d.ToString("+0.0000;-0.0000;0.0000", inv) : "-")} |");
        }
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
}
