using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Runtime;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Engine.Models;

/// <summary>The shape of a fresh model; vocabulary and special tokens come from a tokenizer directory.</summary>
public sealed record ModelShape(LlamaArchitecture Architecture, int HiddenSize, int Layers, int Heads, int KvHeads,
    int IntermediateSize, int MaxPositionEmbeddings = 2048, double RopeTheta = 10000, bool TieWordEmbeddings = true, int? VocabSize = null)
{
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        if (HiddenSize < 1) p.Add($"--hidden-size: must be ≥ 1 (got {HiddenSize})");
        if (Layers < 1) p.Add($"--layers: must be ≥ 1 (got {Layers})");
        if (Heads < 1) p.Add($"--heads: must be ≥ 1 (got {Heads})");
        if (KvHeads < 1) p.Add($"--kv-heads: must be ≥ 1 (got {KvHeads})");
        if (IntermediateSize < 1) p.Add($"--intermediate-size: must be ≥ 1 (got {IntermediateSize})");
        if (Heads >= 1 && HiddenSize % Heads != 0) p.Add($"--hidden-size ({HiddenSize}) must be a multiple of --heads ({Heads})");
        else if (Heads >= 1 && HiddenSize / Heads % 2 != 0) p.Add($"head size hidden/heads ({HiddenSize / Heads}) must be even for RoPE");
        if (KvHeads >= 1 && Heads % KvHeads != 0) p.Add($"--heads ({Heads}) must be a multiple of --kv-heads ({KvHeads})");
        if (MaxPositionEmbeddings < 1) p.Add($"--max-position-embeddings: must be ≥ 1 (got {MaxPositionEmbeddings})");
        return p;
    }
}

/// <summary>Writes a randomly initialised HF checkpoint (config, safetensors, tokenizer files).</summary>
public static class RandomInit
{
    /// <param name="overwrite">Allow a non-empty output folder (same-named files are replaced; others stay).</param>
    public static LlamaConfig Write(ModelShape shape, string tokenizerDirectory, string outputDirectory, long seed = 0,
        ModelDType dtype = ModelDType.Float32, bool overwrite = false)
    {
        var problems = shape.Problems();
        if (problems.Count > 0) throw new UserError(string.Join("; ", problems));
        ModelLedger.Data.OutputDirectory.Check(outputDirectory, "--out", overwrite, tokenizerDirectory);
        using var tokenizer = TextTokenizer.Load(tokenizerDirectory);
        if (shape.VocabSize is int rows && rows < tokenizer.VocabSize)
            throw new UserError($"must be ≥ the tokenizer's vocabulary ({tokenizer.VocabSize}), got {rows}", field: "--vocab-size");
        var config = new LlamaConfig
        {
            Architecture = shape.Architecture,
            VocabSize = shape.VocabSize ?? tokenizer.VocabSize,
            HiddenSize = shape.HiddenSize,
            IntermediateSize = shape.IntermediateSize,
            NumHiddenLayers = shape.Layers,
            NumAttentionHeads = shape.Heads,
            NumKeyValueHeads = shape.KvHeads,
            HeadDim = shape.HiddenSize / shape.Heads,
            MaxPositionEmbeddings = shape.MaxPositionEmbeddings,
            RopeTheta = shape.RopeTheta,
            RmsNormEps = 1e-5,
            TieWordEmbeddings = shape.TieWordEmbeddings,
            QkvBias = shape.Architecture == LlamaArchitecture.Qwen2,
            BosTokenId = tokenizer.BosId,
            EosTokenIds = tokenizer.EosIds,
        };
        using var network = PretrainedModel.Build(config, dtype, seed);
        PretrainedModel.Save(network, tokenizerDirectory, outputDirectory);
        return config;
    }
}
