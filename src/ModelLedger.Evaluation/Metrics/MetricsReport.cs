using System.Text.Json.Nodes;

namespace ModelLedger.Evaluation.Metrics;

/// <summary>Per-pair and corpus JSON in the shape <c>mledger metrics</c> prints (Google ROUGE as fractions; BLEU and
/// the LLaMA-Factory figures on 0..100).</summary>
public static class MetricsReport
{
    public static JsonObject Pair(PairScores s) => new()
    {
        ["rouge1"] = Prf(s.Rouge1), ["rouge2"] = Prf(s.Rouge2), ["rougeL"] = Prf(s.RougeL), ["rougeLsum"] = Prf(s.RougeLsum),
        ["bleu4"] = s.Bleu4, ["sacrebleu"] = s.SacreBleu,
        ["llamafactory"] = new JsonObject
        {
            ["rouge-1"] = s.LlamaFactory.Rouge1, ["rouge-2"] = s.LlamaFactory.Rouge2, ["rouge-l"] = s.LlamaFactory.RougeL, ["bleu-4"] = s.LlamaFactory.Bleu4,
        },
    };

    /// <summary>Means of every per-pair figure, plus sacrebleu's corpus BLEU over all pairs.</summary>
    public static JsonObject Corpus(IReadOnlyList<PairScores> pairs, IReadOnlyList<string> predictions, IReadOnlyList<string> references)
    {
        double Mean(Func<PairScores, double> f) => pairs.Count == 0 ? 0 : pairs.Average(f);
        JsonObject MeanPrf(Func<PairScores, PrecisionRecallF> f) => new() { ["p"] = Mean(s => f(s).Precision), ["r"] = Mean(s => f(s).Recall), ["f"] = Mean(s => f(s).F) };
        return new JsonObject
        {
            ["pairs"] = pairs.Count,
            ["rouge1"] = MeanPrf(s => s.Rouge1), ["rouge2"] = MeanPrf(s => s.Rouge2), ["rougeL"] = MeanPrf(s => s.RougeL), ["rougeLsum"] = MeanPrf(s => s.RougeLsum),
            ["bleu4"] = Mean(s => s.Bleu4),
            ["sacrebleu"] = SacreBleu.Corpus(predictions, references).Score,
            ["llamafactory"] = new JsonObject
            {
                ["rouge-1"] = Mean(s => s.LlamaFactory.Rouge1), ["rouge-2"] = Mean(s => s.LlamaFactory.Rouge2),
                ["rouge-l"] = Mean(s => s.LlamaFactory.RougeL), ["bleu-4"] = Mean(s => s.LlamaFactory.Bleu4),
            },
        };
    }

    private static JsonObject Prf(PrecisionRecallF x) => new() { ["p"] = x.Precision, ["r"] = x.Recall, ["f"] = x.F };
}
