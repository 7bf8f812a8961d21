namespace ModelLedger.Evaluation.Metrics;

/// <summary>Every metric for one prediction/reference pair, as <c>mledger metrics</c> prints them.</summary>
public sealed record PairScores(PrecisionRecallF Rouge1, PrecisionRecallF Rouge2, PrecisionRecallF RougeL, PrecisionRecallF RougeLsum,
    double Bleu4, double SacreBleu, LlamaFactoryScores LlamaFactory)
{
    public static PairScores Compute(string prediction, string reference, RougeScore rouge) => new(
        rouge.RougeN(prediction, reference, 1), rouge.RougeN(prediction, reference, 2), rouge.RougeL(prediction, reference),
        rouge.RougeLsum(prediction, reference),
        NltkBleu.Sentence([reference.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)], prediction.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)) * 100,
        Metrics.SacreBleu.Sentence(prediction, reference).Score,
        LlamaFactoryScore.Score(prediction, reference));
}
