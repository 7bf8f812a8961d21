using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Quantization;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Generation;

/// <summary>
/// Batched autoregressive generation over a <see cref="PretrainedModel"/>: prompts of different lengths are left-padded
/// with an attention mask, one preallocated KV cache per call, one host sync per generated token. Streams through a
/// callback. Not thread-safe with other users of the same network: callers serialise (the network has one state).
/// </summary>
public sealed class TextGenerator(PretrainedModel model)
{
    /// <summary>Receives one line when a call will run past max_position_embeddings (positions the model never saw
    /// in training, where its output degrades); null: no warnings.</summary>
    public Action<string>? Warn { get; init; }

    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<int[]> prompts, GenerationOptions options,
        Action<TokenEvent>? onToken = null, CancellationToken cancellation = default)
    {
        var problems = options.Problems();
        if (problems.Count > 0) throw new UserError(string.Join("; ", problems));
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Length == 0)) throw new UserError("a prompt has no tokens", hint: "an empty prompt should at least hold BOS");
        var vocab = model.Config.VocabSize;
        if (prompts.SelectMany(p => p).Any(id => id < 0 || id >= vocab)) throw new UserError($"a prompt token id is outside the vocabulary (0..{vocab - 1})");

        var stopIds = (options.StopTokenIds.Count > 0 ? options.StopTokenIds : model.Tokenizer.EosIds).ToHashSet();
        var rows = prompts.Select(p => new GeneratedText(p, options.StopStrings, model)).ToArray();
        int promptLength = prompts.Max(p => p.Length);
        int total = promptLength + options.MaxNewTokens;
        if (total > model.Config.MaxPositionEmbeddings)
            Warn?.Invoke(PositionWarning(promptLength, options.MaxNewTokens));
        // Padding is masked out, so any id in the vocabulary will do; a stop id may be outside it ([-1]: "never stop").
        int pad = model.Tokenizer.PadId ?? stopIds.Where(id => id >= 0 && id < vocab).DefaultIfEmpty(0).First();
        bool padded = prompts.Any(p => p.Length != promptLength);
        var sequence = new long[rows.Length, total];   // left-padded ids; mask: 1 real, 0 padding
        var mask = new long[rows.Length, total];
        for (int r = 0; r < rows.Length; r++)
            for (int i = 0; i < total; i++)
            {
                int offset = i - (promptLength - prompts[r].Length);
                bool inPrompt = offset >= 0 && offset < prompts[r].Length;
                sequence[r, i] = inPrompt ? prompts[r][offset] : pad;
                mask[r, i] = i >= promptLength || inPrompt ? 1 : 0;
            }

        var device = model.Network.Device;
        using var generator = options.Temperature > 0 ? new Generator((ulong)options.Seed, device) : null;
        var sampler = new Sampler(options, generator);
        using var cache = options.UseCache
            ? new KvCache(model.Config.NumHiddenLayers, rows.Length, model.Config.NumKeyValueHeads,
                model.Config.HeadDim, Math.Max(total, 1), options.KvCacheDType ?? model.Network.DType, device)
            : null;
        using var inference = inference_mode();
        // Decode steps after the libtorch prefill run in C# when the model qualifies (Kernels/DecodeSession).
        using var fast = cache is null ? null
            : DecodeSession.TryCreate(model.Network, cache, prompts.Select(p => promptLength - p.Length).ToArray(),
                options.Weights);
        if (options.Weights != WeightQuantization.None && fast is null)
            throw new UserError($"weights {options.Weights.Name()} need the C# decode step: a CPU fp32 model without "
                + "adapters or prefixes, MLEDGER_DECODE_KERNEL not 0", field: "weights");
        bool fusedGreedy = options.Temperature <= 0 && options.RepetitionPenalty == 1.0;
        var tokens = new long[rows.Length];
        int length = promptLength;
        for (int step = 0; step < options.MaxNewTokens && rows.Any(r => !r.Finished); step++)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            long[] chosen;
            if (fast is not null && step > 0)
            {
                for (int r = 0; r < rows.Length; r++) tokens[r] = sequence[r, length - 1];
                fast.Step(tokens, length - 1);
                chosen = new long[rows.Length];
                if (fusedGreedy) fast.ArgMax(chosen);
                else
                    chosen = sampler.Next(fast.Logits, () => Slice(sequence, 0, length, device)).data<long>().ToArray();
            }
            else
            {
                int start = cache is null || step == 0 ? 0 : length - 1;
                var ids = Slice(sequence, start, length, device);
                var keyMask = padded ? Slice(mask, 0, length, device) : null;
                var logits = model.Network.Forward(ids, keyMask, cache, start, lastOnly: true).squeeze(1);   // [B, V]
                var next = sampler.Next(logits, () => Slice(sequence, 0, length, device));
                chosen = next.to(CPU).data<long>().ToArray();   // the one host sync of this step
            }
            for (int r = 0; r < rows.Length; r++)
            {
                if (rows[r].Finished) { sequence[r, length] = pad; continue; }
                sequence[r, length] = chosen[r];
                var delta = rows[r].Accept((int)chosen[r], stopIds);
                onToken?.Invoke(new TokenEvent(r, (int)chosen[r], delta));
            }
            length++;
        }
        for (int r = 0; r < rows.Length; r++)
        {
            var rest = rows[r].Flush();
            if (rest.Length > 0) onToken?.Invoke(new TokenEvent(r, TokenEvent.NoToken, rest));
        }
        return rows.Select(r => r.Result()).ToArray();
    }

    private string PositionWarning(int promptTokens, int maxNewTokens) =>
        $"warning: the prompt ({promptTokens} tokens) plus max_new_tokens ({maxNewTokens}) exceeds " +
        "max_position_embeddings " +
        $"({model.Config.MaxPositionEmbeddings}) in {Path.Combine(model.Directory, "config.json")}; " +
        "past that position the model was never trained and its output degrades " +
        "(shorten the prompt or max_new_tokens)";

    private static Tensor Slice(long[,] values, int from, int to, Device device)
    {
        int batch = values.GetLength(0), width = to - from;
        var flat = new long[batch * width];
        for (int r = 0; r < batch; r++)
            for (int i = 0; i < width; i++) flat[r * width + i] = values[r, from + i];
        return tensor(flat, [batch, width], device: device);
    }
}
