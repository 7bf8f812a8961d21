using ModelLedger.Evaluation.Prediction;

namespace ModelLedger.Jobs.Predict;

/// <summary>Batch prediction with LLaMA-Factory's predict metrics (<c>mledger eval</c>, a do_predict config, the
/// quickstart's evaluation): <see cref="StepEvent"/>s count examples done, the result is typed.</summary>
public sealed class PredictJob : ThreadJob<PredictRequest, PredictScores>
{
    public override PredictScores Run(PredictRequest request, IProgress<JobEvent> events, CancellationToken ct)
    {
        events.Report(new PhaseEvent("predicting"));
        var json = BatchPrediction.Run(request, line => events.Report(new MessageEvent(line)), ct,
            (done, total) => events.Report(new StepEvent(done, total)));
        var scores = PredictScores.From(json);
        events.Report(new ResultEvent(json));
        return scores;
    }
}
