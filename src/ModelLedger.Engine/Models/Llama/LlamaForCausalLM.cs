using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Runtime;
using ModelLedger.Engine.Generation;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Engine.Models.Llama;

/// <summary>
/// A Llama-family causal LM with HF parameter names (<c>model.layers.N.self_attn.q_proj.weight</c>, <c>lm_head.weight</c>).
/// With tied embeddings lm_head shares the embedding parameter. The module owns its weights and rotary table; KV caches
/// belong to generation sessions. Not thread-safe: one forward at a time.
/// </summary>
public sealed class LlamaForCausalLM : Module<Tensor, Tensor>
{
    [ComponentName(Name = "model")] internal readonly LlamaBackbone Backbone;
    [ComponentName(Name = "lm_head")] private readonly Linear _lmHead;
    private readonly Rotary _rotary;

    public LlamaConfig Config { get; }

    /// <param name="dtype">The parameters' dtype; null: libtorch's default. Passed to every module rather than set as
    /// the process-wide default, which would change the dtype of tensors other threads create meanwhile.</param>
    /// <param name="projectionDevice">Where the decoder projections' weights are created (null: the default device);
    /// meta allocates nothing, for projections that are replaced while loading.</param>
    public LlamaForCausalLM(LlamaConfig config, ScalarType? dtype = null, Device? projectionDevice = null)
        : base("LlamaForCausalLM")
    {
        Config = config;
        Backbone = new LlamaBackbone(config, dtype, projectionDevice);
        _lmHead = Linear(config.HiddenSize, config.VocabSize, hasBias: false, dtype: dtype);
        _rotary = new Rotary(config);
        RegisterComponents();
        if (config.TieWordEmbeddings) _lmHead.weight = Backbone.EmbedTokens.weight!;
    }

    /// <summary>Moves weights to a device and dtype, keeping lm_head tied to the embedding (a module move copies
    /// each parameter separately, which would untie them).</summary>
    public LlamaForCausalLM MoveTo(Device device, ScalarType dtype)
    {
        this.to(device).to(dtype);
        if (Config.TieWordEmbeddings) _lmHead.weight = Backbone.EmbedTokens.weight!;
        return this;
    }

    public int LayerCount => Config.NumHiddenLayers;

    /// <summary>Trade compute for memory in training: layer activations are recomputed during backward.</summary>
    public bool GradientCheckpointing
    {
        get => Backbone.GradientCheckpointing;
        set => Backbone.GradientCheckpointing = value;
    }
    internal DecoderLayer Layer(int index) => Backbone.Layers[index];
    /// <summary>lm_head (its weight is the embedding when tied).</summary>
    internal Linear LmHead => _lmHead;
    internal (Tensor Cos, Tensor Sin) RotaryTable(long positions) => _rotary.Table(positions, Device);

    /// <summary>The linear projections every decoder layer has, by HF name: q_proj, k_proj, v_proj, o_proj (attention),
    /// then gate_proj, up_proj, down_proj (MLP).</summary>
    public static IReadOnlyList<string> ProjectionNames { get; } = DecoderLayer.ProjectionNames;

    /// <summary>The module now at projection <paramref name="name"/> of layer <paramref name="layer"/>: a Linear, or
    /// whatever wrapper (LoRA, a quantized base, an attribution hook) was swapped in.</summary>
    public Module<Tensor, Tensor> Projection(int layer, string name) => Layer(layer).Projection(name);

    /// <summary>
    /// Swaps projection <paramref name="name"/> of layer <paramref name="layer"/> for <c>wrap(current)</c>, keeping the
    /// HF parameter names: the replacement's own parameters appear under the projection's prefix
    /// (<see cref="ProjectionPath"/>). The model never knows what it holds. Ownership: the model owns the replacement;
    /// a <paramref name="wrap"/> that drops the current module (rather than wrapping it) MUST dispose it. Not thread
    /// safe: swap before forward passes run, not during.
    /// </summary>
    public void ReplaceProjection(int layer, string name, Func<Module<Tensor, Tensor>, Module<Tensor, Tensor>> wrap) =>
        Layer(layer).ReplaceProjection(name, wrap);

    /// <summary>The HF path of a projection: model.layers.N.self_attn.q_proj, model.layers.N.mlp.up_proj, …</summary>
    public static string ProjectionPath(int layer, string name) =>
        $"model.layers.{layer}.{DecoderLayer.ProjectionPath(name)}";

    /// <summary>Every parameter of decoder layer <paramref name="layer"/> (what freeze tuning unfreezes).</summary>
    public IEnumerable<Parameter> LayerParameters(int layer) => Layer(layer).parameters();

    /// <summary>The rotary inverse frequencies this config implies (rope scaling applied), as the model uses
    /// them.</summary>
    public static float[] RotaryInverseFrequencies(LlamaConfig config) => Rotary.InverseFrequencies(config);
    public Device Device => Backbone.EmbedTokens.weight!.device;
    public ScalarType DType => Backbone.EmbedTokens.weight!.dtype;

    /// <summary>Logits [B, T, V] for ids [B, T] from position 0, no cache, no padding.</summary>
    public override Tensor forward(Tensor ids) => Forward(ids, null, null, 0, lastOnly: false);

    /// <summary>
    /// One forward step. <paramref name="keyMask"/> is [B, start+T] with 1 for real tokens and 0 for (left) padding, or
    /// null when no row is padded. Positions come from the mask (padding does not advance them), as in HF.
    /// Returns logits [B, T, V], or [B, 1, V] for the last position only.
    /// </summary>
    public Tensor Forward(Tensor ids, Tensor? keyMask, KvCache? cache, int start, bool lastOnly)
    {
        var hidden = Hidden(ids, keyMask, cache, start);
        if (lastOnly) hidden = hidden.narrow(1, hidden.shape[1] - 1, 1);
        return _lmHead.Project(hidden);
    }

    /// <summary>
    /// One step with explicit positions, for schedulers whose rows sit at different places in one cache (continuous
    /// batching): <paramref name="positions"/> [B, T] are the rotary positions of the new tokens, written at cache
    /// columns start..start+T; <paramref name="keyMask"/> [B, start+T] is 1 for the columns each row attends to
    /// (its own tokens, deep-prompt columns included) and 0 elsewhere. Returns logits [B, T, V] or [B, 1, V].
    /// </summary>
    public Tensor Forward(Tensor ids, Tensor positions, Tensor keyMask, KvCache cache, int start, bool lastOnly)
    {
        var allowed = keyMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1);   // [B, 1, 1, S]
        var hidden = Run(ids, positions, allowed, cache, start);
        if (lastOnly) hidden = hidden.narrow(1, hidden.shape[1] - 1, 1);
        return _lmHead.Project(hidden);
    }

    /// <summary>
    /// Deep-prompt key/values (P-Tuning v2) for a batch size: per layer (K, V) [B, Hkv, P, D], prepended to every
    /// layer's keys and values and visible to every query; real tokens are numbered from P, as PEFT's
    /// PREFIX_TUNING (past key/values) numbers them. Set by a prefix adapter; null for none.
    /// </summary>
    public Func<long, IReadOnlyList<(Tensor Keys, Tensor Values)>>? Prefix { get; set; }

    /// <summary>Final hidden states [B, T, hidden] (before lm_head) for generation.</summary>
    public Tensor Hidden(Tensor ids, Tensor? keyMask, KvCache? cache, int start)
    {
        long batch = ids.shape[0], length = ids.shape[1];
        Tensor positions = keyMask is null
            ? arange(start, start + length, dtype: ScalarType.Int64, device: ids.device).unsqueeze(0).expand(batch, length)
            : keyMask.cumsum(1, ScalarType.Int64).Minus(1L).ClampMin(0L).narrow(1, start, length);
        var allowed = keyMask is null ? null : keyMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1);   // [B, 1, 1, S]
        return Run(ids, positions, allowed, cache, start);
    }

    /// <summary>
    /// Logits [B, T, V] for training: right-padded rows from position 0, no cache. <paramref name="positions"/> and
    /// <paramref name="segments"/> ([B, T]) describe packed rows: attention stays inside a segment and positions restart
    /// in each; null for one sample per row.
    /// </summary>
    public Tensor TrainingLogits(Tensor ids, Tensor? positions, Tensor? segments) =>
        _lmHead.call(TrainingHidden(ids, positions, segments));

    /// <summary>Final hidden states [B, T, hidden] (before lm_head) of <see cref="TrainingLogits"/>: for a loss that
    /// applies lm_head itself, chunk by chunk (<see cref="CausalLmLoss"/>).</summary>
    public Tensor TrainingHidden(Tensor ids, Tensor? positions, Tensor? segments)
    {
        long batch = ids.shape[0], length = ids.shape[1];
        positions ??= arange(length, dtype: ScalarType.Int64, device: ids.device).unsqueeze(0).expand(batch, length);
        var allowed = segments is null ? null : (segments.unsqueeze(2) == segments.unsqueeze(1)).unsqueeze(1);   // [B, 1, T, T]
        return Run(ids, positions, allowed, null, 0);
    }

    private Tensor Run(Tensor ids, Tensor positions, Tensor? allowed, KvCache? cache, int start)
    {
        long batch = ids.shape[0], length = ids.shape[1];
        var prefix = Prefix?.Invoke(batch);
        int prefixLength = prefix is null ? 0 : (int)prefix[0].Keys.shape[2];
        // PEFT passes a prefix as past key/values, so real tokens take positions P, P+1, … after it.
        if (prefixLength > 0) positions = positions.Plus((long)prefixLength);
        var (cos, sin) = _rotary.For(positions, start + length + prefixLength, DType);   // never past the key count
        var mask = AttentionMask(allowed, start, length, prefixLength, ids.device);
        return Backbone.call(ids, new LayerContext(cos, sin, mask, cache, start, prefix));
    }

    /// <summary>Additive mask [B|1, 1, T, P+S]: causal (and sliding-window) over the S cached+new keys, combined with
    /// <paramref name="allowed"/> (padding or segments), every prefix key visible. Null when plain causal attention
    /// (or a single new token) is exact.</summary>
    private Tensor? AttentionMask(Tensor? allowed, int start, long length, int prefixLength, Device device)
    {
        long keys = start + length;
        bool windowed = Config.SlidingWindow is int w && keys > w;
        if (allowed is null && prefixLength == 0 && !windowed && (start == 0 || length == 1)) return null;
        var queryPos = arange(start, keys, device: device).unsqueeze(1);   // [T, 1]
        var keyPos = arange(keys, device: device).unsqueeze(0);            // [1, S]
        var mask = keyPos <= queryPos;
        if (windowed) mask = mask & (keyPos > queryPos.Minus((long)Config.SlidingWindow!.Value));
        mask = mask.unsqueeze(0).unsqueeze(0);                             // [1, 1, T, S]
        if (allowed is not null) mask = mask & allowed;
        if (prefixLength > 0)
            mask = cat([ones([mask.shape[0], 1, length, prefixLength], dtype: ScalarType.Bool, device: device), mask.expand(mask.shape[0], 1, length, keys)], -1);
        // A finite minimum, not -inf: fully masked rows (padding queries) must stay finite or NaN reaches real rows.
        double min = DType switch { ScalarType.BFloat16 => -3.38e38, ScalarType.Float16 => -65504, _ => float.MinValue };
        return zeros(mask.shape, dtype: DType, device: device).FillWhere(mask.logical_not(), min);
    }

    /// <summary>Named tensors as they go into a checkpoint: tied lm_head is written once, as the embedding.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> CheckpointTensors()
    {
        foreach (var (name, p) in named_parameters())
        {
            if (Config.TieWordEmbeddings && name == "lm_head.weight") continue;
            yield return (name, p);
        }
    }

    /// <summary>Bytes of weights one decode step reads: every projection and lm_head (the embedding contributes one
    /// row per token, norms are negligible). Steps/s times this is the weight-streaming rate of a memory-bound
    /// decode.</summary>
    public long DecodeBytesPerStep() =>
        Enumerable.Range(0, LayerCount).SelectMany(l => ProjectionNames.SelectMany(n => Projection(l, n).parameters()))
            .Append(_lmHead.weight!).Sum(p => p.numel() * p.ElementSize);

    /// <summary>Parameters counted once even when tied.</summary>
    public long ParameterCount() => CheckpointTensors().Sum(t => t.Tensor.numel());

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rotary.Dispose();
        base.Dispose(disposing);
    }
}
