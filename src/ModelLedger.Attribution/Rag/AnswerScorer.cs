using ModelLedger.Engine.Models;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Rag;

/// <summary>
/// log p(answer | prompt) summed over the answer's tokens, for many prompts and one answer, batched: rows are
/// left-padded (positions from the key mask, as in generation), so the answer sits in the last positions of every
/// row. Batches are cut so one batch's logits stay under <see cref="MaxLogitBytes"/>. Not thread-safe with other
/// users of the network.
/// </summary>
internal sealed class AnswerScorer(PretrainedModel model)
{
    public const long MaxLogitBytes = 256L << 20;

    public int ForwardRows { get; private set; }

    public double[] LogProbabilities(IReadOnlyList<int[]> prompts, int[] answer)
    {
        if (answer.Length == 0) throw new ArgumentException("the answer has no tokens", nameof(answer));
        int longest = prompts.Max(p => p.Length) + answer.Length;
        if (longest > model.Config.MaxPositionEmbeddings)
            throw new UserError($"prompt and answer take {longest} tokens; the model's context is {model.Config.MaxPositionEmbeddings}",
                field: "--k", hint: "retrieve fewer or shorter documents");
        long rowBytes = (long)longest * model.Config.VocabSize * 4;
        int batch = (int)Math.Clamp(MaxLogitBytes / rowBytes, 1, 64);
        var result = new double[prompts.Count];
        for (int from = 0; from < prompts.Count; from += batch)
        {
            var chunk = prompts.Skip(from).Take(batch).ToArray();
            Score(chunk, answer).CopyTo(result, from);
            ForwardRows += chunk.Length;
        }
        return result;
    }

    private double[] Score(int[][] prompts, int[] answer)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        int length = prompts.Max(p => p.Length) + answer.Length, rows = prompts.Length;
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        for (int r = 0; r < rows; r++)
        {
            int pad = length - prompts[r].Length - answer.Length;
            for (int i = 0; i < length; i++)
            {
                int at = i - pad;
                ids[r * length + i] = at < 0 ? 0 : at < prompts[r].Length ? prompts[r][at] : answer[at - prompts[r].Length];
                mask[r * length + i] = at < 0 ? 0 : 1;
            }
        }
        var device = model.Network.Device;
        var input = tensor(ids, [rows, length], device: device);
        var keyMask = prompts.Any(p => p.Length != prompts[0].Length) ? tensor(mask, [rows, length], device: device) : null;
        var logits = model.Network.Forward(input, keyMask, null, 0, lastOnly: false);            // [B, T, V]
        var predicting = logits.narrow(1, length - answer.Length - 1, answer.Length)            // [B, A, V]
            .to(ScalarType.Float32).log_softmax(-1);
        var targets = tensor(answer.Select(a => (long)a).ToArray(), [1, answer.Length, 1], device: device)
            .expand(rows, answer.Length, 1);
        var sums = predicting.gather(2, targets).squeeze(2).to(ScalarType.Float64).sum(1);        // [B]
        return sums.cpu().data<double>().ToArray();
    }
}
