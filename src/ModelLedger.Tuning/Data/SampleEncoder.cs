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
    /// <summary>SFT: template-rendered turns; loss on answers only unless <paramref name="trainOnPrompt"/>; cut at
    /// <paramref name="cutoff"/> tokens. Samples with no answer token left after the cut are reported, not kept.</summary>
    public static (List<EncodedSample> Samples, List<Rejection> Rejected) Supervised(IEnumerable<Example> examples, TextTokenizer tokenizer,
        ChatTemplate template, int cutoff, bool trainOnPrompt)
    {
        var samples = new List<EncodedSample>();
        var rejected = new List<Rejection>();
        foreach (var example in examples)
        {
            var ids = new List<int>();
            var labels = new List<int>();
            // LF's efficient_eos: answers carry no EOS; the next prompt's first token is labelled EOS, one EOS ends all.
            int? eos = template.EfficientEos ? template.EosId(tokenizer) : null;
            foreach (var (turn, (prompt, answer)) in template.EncodeTurns(tokenizer, example.Messages).Index())
            {
                ids.AddRange(prompt);
                labels.AddRange(trainOnPrompt ? prompt : Enumerable.Repeat(EncodedSample.Ignore, prompt.Length));
                if (eos is int e && turn > 0 && !trainOnPrompt && prompt.Length > 0) labels[^prompt.Length] = e;
                ids.AddRange(answer);
                labels.AddRange(answer);
            }
            if (eos is int end) { ids.Add(end); labels.Add(end); }
            if (ids.Count > cutoff) { ids.RemoveRange(cutoff, ids.Count - cutoff); labels.RemoveRange(cutoff, labels.Count - cutoff); }
            if (labels.Skip(1).All(l => l == EncodedSample.Ignore))
            {
                rejected.Add(new Rejection(example.Source, example.Record, "cutoff_len", $"the prompt fills all {cutoff} tokens; no answer token left to learn"));
                continue;
            }
            samples.Add(new EncodedSample([.. ids], [.. labels], [.. Enumerable.Repeat(1, ids.Count)]));
        }
        return (samples, rejected);
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
