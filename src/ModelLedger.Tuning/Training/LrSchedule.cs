using ModelLedger.Tuning.Config;

namespace ModelLedger.Tuning.Training;

/// <summary>HF transformers' schedules: linear warmup from 0, then linear decay to 0, half-cosine to 0, or constant.</summary>
internal sealed record LrSchedule(SchedulerType Type, double PeakLr, int WarmupSteps, int TotalSteps)
{
    /// <summary>Learning rate for optimizer step <paramref name="step"/> (0-based, as HF's LambdaLR counts).</summary>
    public double At(int step)
    {
        if (step < WarmupSteps) return PeakLr * step / WarmupSteps;
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return Type switch
        {
            SchedulerType.Linear => PeakLr * Math.Max(0, 1 - progress),
            SchedulerType.Cosine => PeakLr * Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * progress))),
            _ => PeakLr,
        };
    }
}
