using ModelLedger.Data.Datasets;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Tokenization;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Tuning.Data;

/// <summary>The encoded train and validation sequences of a run, with what was dropped and why.</summary>
public sealed record TrainingData(IReadOnlyList<EncodedSample> Train, IReadOnlyList<EncodedSample> Validation,
    int ExamplesRead, IReadOnlyList<Rejection> Rejected, ChatTemplate? Template)
{
    /// <summary>Reads, validates, encodes, splits (val_size) and packs the configured datasets. Fails naming the first
    /// reasons when nothing usable is left.</summary>
    public static TrainingData Load(TrainConfig config, TextTokenizer tokenizer, Action<string>? log = null)
    {
        bool pt = config.Stage == Stage.Pt;
        var examples = new List<Example>();
        var rejected = new List<Rejection>();
        foreach (var spec in DatasetInfo.Resolve(config.DatasetDir, config.Dataset))
        {
            var (read, bad) = DatasetReader.Read(spec, rawText: pt);
            if (config.MaxSamples is int max) read = read.Take(max).ToList();
            examples.AddRange(read);
            rejected.AddRange(bad);
        }
        int unreadable = rejected.Count;   // never became examples; records cut by cutoff_len did
        var template = pt ? null : config.Template is string name ? ChatTemplate.Named(name) : ChatTemplate.Detect(tokenizer);
        List<EncodedSample> samples;
        int truncated = 0;
        if (pt) samples = SampleEncoder.Pretrain(examples, tokenizer, config.CutoffLen);
        else
        {
            var (encoded, cut) = SampleEncoder.Supervised(examples, tokenizer, template!, config.CutoffLen,
                config.TrainOnPrompt, out truncated);
            samples = encoded;
            rejected.AddRange(cut);
        }
        int kept = examples.Count - (rejected.Count - unreadable);
        log?.Invoke($"data: {examples.Count + unreadable} records read, {kept} kept, {rejected.Count} dropped"
            + (truncated > 0 ? $", {truncated} truncated to cutoff_len {config.CutoffLen}" : ""));
        foreach (var r in rejected.Take(5)) log?.Invoke($"  dropped {r}");
        if (samples.Count == 0)
            throw new UserError("no usable training samples" + (rejected.Count > 0 ? ": " + string.Join("; ", rejected.Take(3)) : ""),
                field: "dataset", hint: "fix the records listed, or raise cutoff_len");

        var rng = new Random((int)config.Seed);
        var shuffled = samples.OrderBy(_ => rng.Next()).ToList();
        int valCount = config.ValSize <= 0 ? 0 : config.ValSize < 1 ? (int)Math.Round(shuffled.Count * config.ValSize) : (int)config.ValSize;
        if (valCount >= shuffled.Count) throw new UserError($"val_size leaves no training samples ({valCount} of {shuffled.Count})", field: "val_size");
        var validation = shuffled.Take(valCount).ToList();
        var train = shuffled.Skip(valCount).ToList();
        if (config.Packing && !pt) train = SampleEncoder.Pack(train, config.CutoffLen);
        return new TrainingData(train, validation, examples.Count, rejected, template);
    }

    /// <summary>The first training sample as text, with the tokens that carry loss in [brackets] — shown before training
    /// so a wrong template or label mask is seen before hours are spent.</summary>
    public string Preview(TextTokenizer tokenizer)
    {
        var s = Train[0];
        var parts = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            bool learned = s.Labels[i] != EncodedSample.Ignore;
            int j = i;
            while (j < s.Length && (s.Labels[j] != EncodedSample.Ignore) == learned) j++;
            var text = tokenizer.Decode(s.Ids[i..j]);
            parts.Add(learned ? $"[{text}]" : text);
            i = j;
        }
        return string.Concat(parts);
    }
}
