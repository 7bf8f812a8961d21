using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Runtime;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using ModelLedger.Engine.Generation;

namespace ModelLedger.Engine.Models.Llama;

/// <summary>What every decoder layer sees for one forward call.</summary>
/// <param name="Cos">[B, 1, T, headDim] rotary cosines for the positions of this call.</param>
/// <param name="Mask">Additive attention mask [B, 1, T, S] or null for plain causal attention from position 0.</param>
/// <param name="Cache">Preallocated key/value cache, or null to recompute everything.</param>
/// <param name="Start">Position of the first token of this call in the cache.</param>
/// <param name="Prefix">Per-layer deep-prompt keys/values [B, Hkv, P, D] (P-Tuning v2), or null.</param>
internal sealed record LayerContext(Tensor Cos, Tensor Sin, Tensor? Mask, KvCache? Cache, int Start,
    IReadOnlyList<(Tensor Keys, Tensor Values)>? Prefix = null);

/// <summary>RMSNorm computed in fp32 as HF does, then cast back: weight * x / sqrt(mean(x²) + eps).</summary>
internal sealed class RmsNorm : Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] private readonly Parameter _weight;
    private readonly double _eps;

    public RmsNorm(long size, double eps, ScalarType? dtype = null) : base("RmsNorm")
    {
        _weight = new Parameter(ones(size, dtype: dtype));
        _eps = eps;
        RegisterComponents();
    }

    internal Tensor Weight => _weight;
    internal double Eps => _eps;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var normed = x32 * rsqrt(x32.Power(2).mean([-1L], keepdim: true).Plus(_eps));
        return (_weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>Self-attention with GQA and rotary positions. Projections are <c>Module&lt;Tensor,Tensor&gt;</c> so an
/// adapter (LoRA, quantized base) can replace any of them without this class knowing.</summary>
internal sealed class Attention : Module<Tensor, LayerContext, Tensor>
{
    [ComponentName(Name = "q_proj")] private Module<Tensor, Tensor> _q;
    [ComponentName(Name = "k_proj")] private Module<Tensor, Tensor> _k;
    [ComponentName(Name = "v_proj")] private Module<Tensor, Tensor> _v;
    [ComponentName(Name = "o_proj")] private Module<Tensor, Tensor> _o;
    private readonly int _layer, _heads, _kvHeads, _headDim;

    public Attention(LlamaConfig c, int layer, ScalarType? dtype = null, Device? device = null) : base("Attention")
    {
        _layer = layer;
        (_heads, _kvHeads, _headDim) = (c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim);
        _q = Linear(c.HiddenSize, _heads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        _k = Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        _v = Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        _o = Linear(_heads * _headDim, c.HiddenSize, hasBias: c.OutputBias, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, LayerContext ctx)
    {
        // q and k before rotation, the attended heads: gone before the MLP where that is safe (see there)
        using var scope = GradientCheckpoint.FreesTemporariesEarly ? NewDisposeScope() : null;
        long batch = x.shape[0], length = x.shape[1];
        var q = _q.Project(x).view(batch, length, _heads, _headDim).transpose(1, 2);      // [B, H, T, D]
        var k = _k.Project(x).view(batch, length, _kvHeads, _headDim).transpose(1, 2);    // [B, Hkv, T, D]
        var v = _v.Project(x).view(batch, length, _kvHeads, _headDim).transpose(1, 2);
        q = Rotary.Apply(q, ctx.Cos, ctx.Sin);
        k = Rotary.Apply(k, ctx.Cos, ctx.Sin);
        if (ctx.Cache is not null) (k, v) = ctx.Cache.Write(_layer, k, v, ctx.Start);  // [B, Hkv, Start+T, D]
        if (k.dtype != q.dtype) (k, v) = (k.to(q.dtype), v.to(q.dtype));   // a 16-bit cache, read as the model's dtype
        if (ctx.Prefix is not null)
        {
            var (pk, pv) = ctx.Prefix[_layer];                                              // [B, Hkv, P, D]
            k = cat([pk.to(k.dtype), k], 2);
            v = cat([pv.to(v.dtype), v], 2);
        }
        if (_kvHeads != _heads) { k = RepeatKv(k); v = RepeatKv(v); }
        // Plain causal attention only when queries and keys start together; otherwise the mask says it all.
        bool causal = ctx.Mask is null && length > 1;
        var attended = functional.scaled_dot_product_attention(q, k, v, ctx.Mask, 0.0, causal);
        var output = _o.Project(attended.transpose(1, 2).reshape(batch, length, _heads * _headDim));   // [B, T, H]
        return scope is null ? output : output.MoveToOuterDisposeScope();
    }

    /// <summary>HF repeat_kv: each key/value head serves heads/kvHeads consecutive query heads.</summary>
    private Tensor RepeatKv(Tensor kv)
    {
        long b = kv.shape[0], s = kv.shape[2];
        int rep = _heads / _kvHeads;
        return kv.unsqueeze(2).expand(b, _kvHeads, rep, s, _headDim).reshape(b, _heads, s, _headDim);
    }

    /// <summary>Swaps projection <paramref name="name"/> (q_proj, k_proj, v_proj, o_proj) for wrap(current),
    /// keeping the HF parameter names: the wrapper's own parameters appear under the same prefix.</summary>
    internal void Replace(string name, Func<Module<Tensor, Tensor>, Module<Tensor, Tensor>> wrap)
    {
        var replacement = name switch
        {
            "q_proj" => _q = wrap(_q),
            "k_proj" => _k = wrap(_k),
            "v_proj" => _v = wrap(_v),
            "o_proj" => _o = wrap(_o),
            _ => throw new ArgumentException($"attention has no projection '{name}'", nameof(name)),
        };
        _internal_submodules[name] = replacement;
    }

    internal Module<Tensor, Tensor> Projection(string name) => name switch
    {
        "q_proj" => _q, "k_proj" => _k, "v_proj" => _v, "o_proj" => _o,
        _ => throw new ArgumentException($"attention has no projection '{name}'", nameof(name)),
    };
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)).</summary>
internal sealed class Mlp : Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] private Module<Tensor, Tensor> _gate;
    [ComponentName(Name = "up_proj")] private Module<Tensor, Tensor> _up;
    [ComponentName(Name = "down_proj")] private Module<Tensor, Tensor> _down;

    public Mlp(LlamaConfig c, ScalarType? dtype = null, Device? device = null) : base("Mlp")
    {
        _gate = Linear(c.HiddenSize, c.IntermediateSize, hasBias: c.MlpBias, device: device, dtype: dtype);
        _up = Linear(c.HiddenSize, c.IntermediateSize, hasBias: c.MlpBias, device: device, dtype: dtype);
        _down = Linear(c.IntermediateSize, c.HiddenSize, hasBias: c.MlpBias, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (is_grad_enabled()) return _down.Project(functional.silu(_gate.Project(x)) * _up.Project(x));
        using var scope = NewDisposeScope();
        var gate = _gate.Project(x);
        // No graph to keep (a checkpointed forward, inference): silu and the product in gate's buffer, up's output
        // freed before down allocates — one [tokens, intermediate] buffer live instead of four.
        functional.silu(gate, inplace: true);
        using (var up = _up.Project(x)) gate.mul_(up);
        return _down.Project(gate).MoveToOuterDisposeScope();
    }

    /// <summary>Swaps gate_proj, up_proj or down_proj for wrap(current); see <see cref="Attention.Replace"/>.</summary>
    internal void Replace(string name, Func<Module<Tensor, Tensor>, Module<Tensor, Tensor>> wrap)
    {
        var replacement = name switch
        {
            "gate_proj" => _gate = wrap(_gate),
            "up_proj" => _up = wrap(_up),
            "down_proj" => _down = wrap(_down),
            _ => throw new ArgumentException($"mlp has no projection '{name}'", nameof(name)),
        };
        _internal_submodules[name] = replacement;
    }

    internal Module<Tensor, Tensor> Projection(string name) => name switch
    {
        "gate_proj" => _gate, "up_proj" => _up, "down_proj" => _down,
        _ => throw new ArgumentException($"mlp has no projection '{name}'", nameof(name)),
    };
}

internal sealed class DecoderLayer : Module<Tensor, LayerContext, Tensor>
{
    [ComponentName(Name = "self_attn")] internal readonly Attention SelfAttention;
    [ComponentName(Name = "mlp")] internal readonly Mlp Mlp;
    [ComponentName(Name = "input_layernorm")] private readonly RmsNorm _inputNorm;
    [ComponentName(Name = "post_attention_layernorm")] private readonly RmsNorm _postNorm;

    /// <param name="projectionDevice">Where the projections' weights are created (null: the default device); the
    /// meta device allocates nothing, for projections a loader replaces (<see cref="PretrainedModel.Load"/>).</param>
    public DecoderLayer(LlamaConfig c, int layer, ScalarType? dtype = null, Device? projectionDevice = null)
        : base("DecoderLayer")
    {
        SelfAttention = new Attention(c, layer, dtype, projectionDevice);
        Mlp = new Mlp(c, dtype, projectionDevice);
        _inputNorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype);
        _postNorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype);
        RegisterComponents();
    }

    /// <summary>The linear projections of a layer, by HF name: attention first, then the MLP.</summary>
    internal static readonly string[] ProjectionNames = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    internal RmsNorm InputNorm => _inputNorm;
    internal RmsNorm PostNorm => _postNorm;

    private static bool IsAttention(string name) => name is "q_proj" or "k_proj" or "v_proj" or "o_proj";

    /// <summary>Swaps projection <paramref name="name"/> for wrap(current), in the attention or the MLP.</summary>
    internal void ReplaceProjection(string name, Func<Module<Tensor, Tensor>, Module<Tensor, Tensor>> wrap)
    {
        if (IsAttention(name)) SelfAttention.Replace(name, wrap);
        else Mlp.Replace(name, wrap);
    }

    internal Module<Tensor, Tensor> Projection(string name) => IsAttention(name) ? SelfAttention.Projection(name) : Mlp.Projection(name);

    /// <summary>The HF path of a projection inside its layer: self_attn.q_proj, mlp.up_proj, …</summary>
    internal static string ProjectionPath(string name) => (IsAttention(name) ? "self_attn." : "mlp.") + name;

    public override Tensor forward(Tensor x, LayerContext ctx)
    {
        // The layer's temporaries die with it: autograd holds its own references to what backward needs, so
        // dropping our handles here frees the rest now rather than at the end of the step (GBs in training).
        using var scope = NewDisposeScope();
        var h = x.Plus(SelfAttention.call(_inputNorm.call(x), ctx));
        return h.Plus(Mlp.call(_postNorm.call(h))).MoveToOuterDisposeScope();
    }
}

/// <summary>The decoder stack (HF <c>model.*</c>): embeddings, layers, final norm.</summary>
internal sealed class LlamaBackbone : Module<Tensor, LayerContext, Tensor>
{
    [ComponentName(Name = "embed_tokens")] internal readonly Embedding EmbedTokens;
    [ComponentName(Name = "layers")] internal readonly ModuleList<DecoderLayer> Layers;
    [ComponentName(Name = "norm")] private readonly RmsNorm _norm;

    public LlamaBackbone(LlamaConfig c, ScalarType? dtype = null, Device? projectionDevice = null)
        : base("LlamaBackbone")
    {
        EmbedTokens = Embedding(c.VocabSize, c.HiddenSize, dtype: dtype);
        Layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, c.NumHiddenLayers)
            .Select(i => new DecoderLayer(c, i, dtype, projectionDevice)).ToArray());
        _norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype);
        RegisterComponents();
    }

    internal RmsNorm Norm => _norm;

    /// <summary>Recompute each layer's activations in backward instead of storing them (training only).</summary>
    internal bool GradientCheckpointing { get; set; }

    /// <param name="ids">[B, T] token ids.</param>
    public override Tensor forward(Tensor ids, LayerContext ctx)
    {
        var h = EmbedTokens.call(ids);
        bool checkpoint = GradientCheckpointing && training && is_grad_enabled();
        for (int i = 0; i < Layers.Count; i++)
        {
            var layer = Layers[i];   // the block runs again in backward, after the loop: capture the layer, not i
            if (!h.requires_grad && ctx.Prefix is null && is_grad_enabled() && !Trains(layer))
            {
                // frozen, and nothing below it trains (freeze tuning's lower layers): backward never reaches it
                using (no_grad()) h = layer.call(h, ctx);
                continue;
            }
            if (!checkpoint)
            {
                h = layer.call(h, ctx);
                continue;
            }
            // A checkpointed block only takes part in backward if its input needs a gradient; with frozen embeddings
            // (LoRA, prefix) the embedding output does not, so mark it (as HF's enable_input_require_grads does).
            if (!h.requires_grad) h = h.detach().requires_grad_(true);
            h = ctx.Prefix is null
                ? Models.GradientCheckpoint.Run(h, x => layer.call(x, ctx))
                : CheckpointedWithPrefix(layer, i, h, ctx);
        }
        return _norm.call(h);
    }

    private static bool Trains(DecoderLayer layer) => layer.parameters().Any(p => p.requires_grad);

    /// <summary>A checkpointed layer whose prefix keys and values go in as the block's inputs (see there).</summary>
    private static Tensor CheckpointedWithPrefix(DecoderLayer layer, int index, Tensor h, LayerContext ctx)
    {
        var (keys, values) = ctx.Prefix![index];
        return Models.GradientCheckpoint.Run(h, [keys, values], (x, kv) =>
        {
            var prefix = ctx.Prefix.ToArray();
            prefix[index] = (kv[0], kv[1]);
            return layer.call(x, ctx with { Prefix = prefix });
        });
    }
}
