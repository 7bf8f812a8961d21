using ModelLedger.Engine.Models.Llama;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

/// <summary>
/// P-Tuning v2 (Liu et al. 2022): P trainable virtual tokens per layer given straight to attention as extra keys and
/// values (not rotated). Without projection the key/values are one embedding [P, layers·2·kvDim]; with projection
/// (as ChatGLM's PrefixEncoder) an embedding [P, hidden] goes through hidden → hidden → layers·2·kvDim with tanh.
/// Attached by setting the network's Prefix hook; the base stays frozen.
/// </summary>
internal sealed class PrefixEncoder : Module<Tensor, Tensor>
{
    private readonly Embedding _embedding;
    private readonly Sequential? _projection;
    private readonly int _layers, _kvHeads, _headDim;

    public int Length { get; }
    public bool Projected => _projection is not null;

    public PrefixEncoder(LlamaConfig c, int length, bool projection, Device device, ScalarType dtype) : base("PrefixEncoder")
    {
        (Length, _layers, _kvHeads, _headDim) = (length, c.NumHiddenLayers, c.NumKeyValueHeads, c.HeadDim);
        long width = 2L * _layers * _kvHeads * _headDim;
        // nn.Embedding's own initialisation, N(0, 1), as PEFT's PrefixEncoder starts from.
        _embedding = Embedding(length, projection ? c.HiddenSize : width, device: device, dtype: dtype);
        if (projection)
            _projection = Sequential(Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype), Tanh(),
                Linear(c.HiddenSize, width, device: device, dtype: dtype));
        RegisterComponents();
    }

    /// <summary>[P, layers·2·kvDim] key/value rows.</summary>
    public override Tensor forward(Tensor tokens)
    {
        var e = _embedding.call(tokens);
        return _projection is null ? e : _projection.call(e);
    }

    /// <summary>The flat prompt table PEFT saves as <c>prompt_embeddings</c>.</summary>
    public Tensor PromptEmbeddings() => forward(arange(Length, device: _embedding.weight!.device));

    /// <summary>Per layer (K, V) [B, Hkv, P, D] for a batch.</summary>
    public IReadOnlyList<(Tensor Keys, Tensor Values)> KeyValues(long batch) => Split(PromptEmbeddings(), batch);

    internal IReadOnlyList<(Tensor Keys, Tensor Values)> Split(Tensor table, long batch)
    {
        // [P, L, 2, Hkv, D] → [L, 2, Hkv, P, D]
        var kv = table.view(Length, _layers, 2, _kvHeads, _headDim).permute(1, 2, 3, 0, 4);
        return Enumerable.Range(0, _layers).Select(l =>
            (kv[l, 0].unsqueeze(0).expand(batch, _kvHeads, Length, _headDim), kv[l, 1].unsqueeze(0).expand(batch, _kvHeads, Length, _headDim))).ToList();
    }

    /// <summary>Loads a saved prompt table (no projection needed any more) into the embedding.</summary>
    public static PrefixEncoder FromTable(LlamaConfig c, Tensor table, Device device, ScalarType dtype)
    {
        var encoder = new PrefixEncoder(c, (int)table.shape[0], projection: false, device, dtype);
        using (no_grad()) encoder._embedding.weight!.copy_(table);
        return encoder;
    }
}
