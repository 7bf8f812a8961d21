using ModelLedger.Data.Datasets;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Tuning.Data;

/// <summary>A tokenized training sequence. Labels are -100 where no loss is taken (prompt, padding). Segments number
/// the packed samples inside one sequence (1, 2, …), so attention and positions never cross a sample boundary.</summary>
public sealed record EncodedSample(int[] Ids, int[] Labels, int[] Segments)
{
    public const int Ignore = -100;
    public int Length => Ids.Length;
}

/// <summary>Turns examples into token sequences the way LLaMA-Factory's supervised and pretrain processors do.</summary>
public static class SampleEncoder
{
    /// <summary>SFT: template-rendered turns; loss on answers only unless <paramref name="trainOnPrompt"/>. Turns
    /// longer than <paramref name="cutoff"/> are cut as LLaMA-Factory's supervised processor cuts them (see
    /// <see cref="InferSeqLen"/>); samples with no answer token left are reported, not kept.</summary>
    public static (List<EncodedSample> Samples, List<Rejection> Rejected) Supervised(IEnumerable<Example> examples,
        TextTokenizer tokenizer, ChatTemplate template, int cutoff, bool trainOnPrompt) =>
        Supervised(examples, tokenizer, template, cutoff, trainOnPrompt, out _);

    /// <inheritdoc cref="Supervised(IEnumerable{Example}, TextTokenizer, ChatTemplate, int, bool)"/>
    /// <param name="truncated">How many kept samples lost tokens to <paramref name="cutoff"/>.</param>
    public static (List<EncodedSample> Samples, List<Rejection> Rejected) Supervised(IEnumerable<Example> examples,
        TextTokenizer tokenizer, ChatTemplate template, int cutoff, bool trainOnPrompt, out int truncated)
    {
        var samples = new List<EncodedSample>();
        var rejected = new List<Rejection>();
        truncated = 0;
        foreach (var example in examples)
        {
            var ids = new List<int>();
            var labels = new List<int>();
            // LF's efficient_eos: answers carry no EOS; the next prompt's first token is labelled EOS, one EOS ends all.
            int? eos = template.EfficientEos ? template.EosId(tokenizer) : null;
            int total = eos is null ? 0 : 1;   // LF reserves the final EOS before cutting the turns
            bool cut = false;
            foreach (var (turn, (fullPrompt, fullAnswer)) in template.EncodeTurns(tokenizer, example.Messages).Index())
            {
                if (total >= cutoff) { cut = true; break; }
                var (promptLength, answerLength) = InferSeqLen(fullPrompt.Length, fullAnswer.Length, cutoff - total);
                cut |= promptLength < fullPrompt.Length || answerLength < fullAnswer.Length;
                var prompt = fullPrompt[..promptLength];
                var answer = fullAnswer[..answerLength];
                total += promptLength + answerLength;
                ids.AddRange(prompt);
                labels.AddRange(trainOnPrompt ? prompt : Enumerable.Repeat(EncodedSample.Ignore, prompt.Length));
                if (eos is int e && turn > 0 && !trainOnPrompt && prompt.Length > 0) labels[^prompt.Length] = e;
                ids.AddRange(answer);
                labels.AddRange(answer);
            }
            if (eos is int end) { ids.Add(end); labels.Add(end); }
            if (labels.Skip(1).All(l => l == EncodedSample.Ignore))
            {
                rejected.Add(new Rejection(example.Source, example.Record, "cutoff_len",
                    $"no answer token is left within cutoff_len {cutoff}"));
                continue;
            }
            if (cut) truncated++;
            samples.Add(new EncodedSample([.. ids], [.. labels], [.. Enumerable.Repeat(1, ids.Count)]));
        }
        return (samples, rejected);
    }

    /// <summary>LLaMA-Factory's <c>infer_seqlen</c> (src/llamafactory/data/processor/processor_utils.py): how many
    /// prompt and answer tokens of one turn fit in <paramref name="budget"/>. A short answer (under half the budget)
    /// is kept whole and the prompt cut; else a short prompt is kept whole and the answer cut; else both are cut in
    /// proportion to their lengths. Both keep their beginnings.</summary>
    public static (int Prompt, int Answer) InferSeqLen(int promptLength, int answerLength, int budget)
    {
        int maxAnswer = answerLength * 2 < budget ? budget
            : promptLength * 2 < budget ? budget - promptLength
            : (int)(budget * ((double)answerLength / (promptLength + answerLength)));
        int answer = Math.Min(maxAnswer, answerLength);
        int prompt = Math.Min(Math.Max(budget - answer, 0), promptLength);
        return (prompt, answer);
    }

    /// <summary>PT: BOS + text + EOS per document, concatenated and cut into blocks of <paramref name="cutoff"/> tokens
    /// (the last, shorter block kept); loss on every token.</summary>
    public static List<EncodedSample> Pretrain(IEnumerable<Example> examples, TextTokenizer tokenizer, int cutoff)
    {
        var stream = new List<int>();
        foreach (var e in examples)
        {
            if (tokenizer.BosId is int bos) stream.Add(bos);
            stream.AddRange(tokenizer.Encode(e.Text ?? ""));
            if (tokenizer.EosIds.Count > 0) stream.Add(tokenizer.EosIds[0]);
        }
        var blocks = new List<EncodedSample>();
        for (int start = 0; start < stream.Count; start += cutoff)
        {
            var ids = stream.GetRange(start, Math.Min(cutoff, stream.Count - start)).ToArray();
            if (ids.Length >= 2) blocks.Add(new EncodedSample(ids, ids, [.. Enumerable.Repeat(1, ids.Length)]));
        }
        return blocks;
    }

    /// <summary>Packs samples (first-fit, longest first) into sequences of at most <paramref name="cutoff"/> tokens,
    /// numbering the samples inside each pack.</summary>
    public static List<EncodedSample> Pack(IEnumerable<EncodedSample> samples, int cutoff)
    {
        var packs = new List<(List<int> Ids, List<int> Labels, List<int> Segments)>();
        foreach (var s in samples.OrderByDescending(s => s.Length))
        {
            var pack = packs.FirstOrDefault(p => p.Ids.Count + s.Length <= cutoff);
            if (pack.Ids is null) { pack = ([], [], []); packs.Add(pack); }
            int segment = pack.Segments.Count == 0 ? 1 : pack.Segments[^1] + 1;
            pack.Ids.AddRange(s.Ids);
            pack.Labels.AddRange(s.Labels);
            pack.Segments.AddRange(Enumerable.Repeat(segment, s.Length));
        }
        return packs.Select(p => new EncodedSample([.. p.Ids], [.. p.Labels], [.. p.Segments])).ToList();
    }
}
