using ModelLedger.Engine.Models;
using ModelLedger.Engine.Quantization;
using ModelLedger.Tuning.Quantization;
using static TorchSharp.torch;

namespace ModelLedger.Evaluation.Perplexity;

/// <param name="Weights">f32, q8_0 or nf4.</param>
/// <param name="StandardError">Of the perplexity, from the spread of the per-token NLL (as llama-perplexity).</param>
/// <param name="SameTopToken">Share of scored positions whose most likely next token equals the f32 model's (null
/// for the f32 row, or when f32 is not among the rows).</param>
public sealed record PerplexityRow(string Weights, double Perplexity, double StandardError, int Tokens,
    double? SameTopToken);

/// <summary>
/// Perplexity of a text the way llama-perplexity computes it, so the figures read alike: the text tokenized once
/// (with BOS), cut into chunks of <c>context</c> tokens (the tail that fills no chunk is dropped), each chunk's
/// first token set to BOS and scored on its second half only (every scored token sees at least context/2 tokens
/// of history). Each weight type is the same model fake-quantized (<see cref="FakeQuantization"/>), restored after.
/// </summary>
public static class TextPerplexity
{
    public static IReadOnlyList<PerplexityRow> Run(PretrainedModel model, string text, int context,
        IReadOnlyList<WeightQuantization> weights, Action<string>? log = null)
    {
        if (context < 4 || context > model.Config.MaxPositionEmbeddings)
            throw new UserError($"must be in [4, {model.Config.MaxPositionEmbeddings}] (the model's "
                + $"max_position_embeddings; got {context})", field: "--ctx");
        var ids = model.Tokenizer.Encode(text, addSpecialTokens: true);
        int chunks = ids.Length / context;
        if (chunks == 0)
            throw new UserError($"the text has {ids.Length} tokens, fewer than one chunk of {context}",
                field: "--ctx", hint: "use a longer text or a smaller --ctx");
        log?.Invoke($"{ids.Length} tokens, {chunks} chunks of {context}, "
            + $"scoring {chunks * (context - 1 - context / 2)}");
        int[]? reference = null;
        var rows = new List<PerplexityRow>();
        foreach (var w in weights)
        {
            using var quantized = FakeQuantization.Apply(model, w);
            var (nll, top) = Score(model, ids, context, chunks);
            double mean = nll.Average(), square = nll.Average(v => v * v), ppl = Math.Exp(mean);
            double error = ppl * Math.Sqrt(Math.Max(0, square - mean * mean) / Math.Max(1, nll.Length - 1));
            double? same = w == WeightQuantization.None || reference is null ? null
                : top.Zip(reference).Count(p => p.First == p.Second) / (double)top.Length;
            if (w == WeightQuantization.None) reference = top;
            rows.Add(new PerplexityRow(w.Name(), ppl, error, nll.Length, same));
            log?.Invoke($"{w.Name()}: perplexity {ppl:F4} ± {error:F4}");
        }
        return rows;
    }

    /// <summary>Per scored token: its negative log-likelihood and the model's most likely token there.</summary>
    private static (double[] Nll, int[] Top) Score(PretrainedModel model, int[] ids, int context, int chunks)
    {
        int first = context / 2, scored = context - 1 - first;
        var nll = new double[chunks * scored];
        var top = new int[chunks * scored];
        using var inference = inference_mode();
        for (int c = 0; c < chunks; c++)
        {
            using var scope = NewDisposeScope();
            var chunk = ids.Skip(c * context).Take(context).Select(i => (long)i).ToArray();
            if (model.Tokenizer.BosId is int bos) chunk[0] = bos;
            var input = tensor(chunk, [1, context], device: model.Network.Device);
            var logProbs = model.Network.forward(input)[0].narrow(0, first, scored).to(ScalarType.Float32)
                .cpu().log_softmax(-1);                                               // [scored, vocab]
            var targets = tensor(chunk[(first + 1)..], [scored, 1]);
            var picked = logProbs.gather(1, targets).data<float>().ToArray();
            var best = logProbs.argmax(1).data<long>().ToArray();
            for (int i = 0; i < scored; i++)
            {
                nll[c * scored + i] = -picked[i];
                top[c * scored + i] = (int)best[i];
            }
        }
        return (nll, top);
    }
}
