namespace ModelLedger.Tuning.Training;

/// <summary>training_loss.png like LLaMA-Factory's plot_loss: the raw loss and an EMA-smoothed curve against step.</summary>
internal static class LossPlot
{
    public static void Write(IReadOnlyList<TrainLogEntry> entries, string path)
    {
        var points = entries.Where(e => e.Loss is not null).ToList();
        if (points.Count == 0) return;
        var plot = new ScottPlot.Plot();
        double[] steps = points.Select(e => (double)e.Step).ToArray();
        double[] loss = points.Select(e => e.Loss!.Value).ToArray();
        var raw = plot.Add.Scatter(steps, loss);
        raw.LegendText = "original";
        raw.LineWidth = 1;
        var smoothed = new double[loss.Length];
        double weight = 1.8 / (1 + Math.Exp(-0.05 * loss.Length)) - 1.3;   // LLaMA-Factory's smoothing weight
        weight = Math.Clamp(weight, 0, 0.99);
        for (int i = 0; i < loss.Length; i++) smoothed[i] = i == 0 ? loss[0] : smoothed[i - 1] * weight + (1 - weight) * loss[i];
        var smooth = plot.Add.Scatter(steps, smoothed);
        smooth.LegendText = "smoothed";
        smooth.LineWidth = 2;
        var evals = entries.Where(e => e.EvalLoss is not null).ToList();
        if (evals.Count > 0)
        {
            var eval = plot.Add.Scatter(evals.Select(e => (double)e.Step).ToArray(), evals.Select(e => e.EvalLoss!.Value).ToArray());
            eval.LegendText = "eval";
        }
        plot.Title("training loss");
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }
}
