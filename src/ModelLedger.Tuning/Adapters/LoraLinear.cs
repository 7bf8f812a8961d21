using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

/// <summary>One LoRA adapter's weights on one projection: A [r, in] (Kaiming-uniform), B [out, r] (zero), scaling.</summary>
internal sealed record LoraPair(Linear A, Linear B, Dropout Dropout, double Scaling, int Rank);

/// <summary>
/// y = base(x) + B(A(dropout(x))) · scaling for the active adapter (none active: y = base(x)). The base (a Linear or a
/// quantized linear) stays frozen; several adapters can be attached and one chosen per call, as PEFT's LoraLayer does.
/// B starts at zero, so a fresh adapter leaves the model's outputs unchanged. Not thread-safe: the active adapter is
/// module state, so callers serialise generation per model.
/// </summary>
internal sealed class LoraLinear : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> _base;
    private readonly Dictionary<string, LoraPair> _adapters = new(StringComparer.Ordinal);

    public string? Active { get; set; }
    public Module<Tensor, Tensor> Base => _base;
    public long InFeatures { get; }
    public long OutFeatures { get; }

    public LoraLinear(Module<Tensor, Tensor> baseLayer, long inFeatures, long outFeatures) : base("LoraLinear")
    {
        _base = baseLayer;
        (InFeatures, OutFeatures) = (inFeatures, outFeatures);
        register_module("base_layer", baseLayer);
    }

    public IReadOnlyDictionary<string, LoraPair> Adapters => _adapters;

    /// <summary>Adds adapter <paramref name="name"/>; scaling is alpha/r, or alpha/√r with rsLoRA.</summary>
    public LoraPair AddAdapter(string name, int rank, double alpha, double dropout, bool rsLora, Device device, ScalarType dtype)
    {
        if (_adapters.ContainsKey(name)) throw new InvalidOperationException($"adapter '{name}' already attached");
        var a = Linear(InFeatures, rank, hasBias: false, device: device, dtype: dtype);
        var b = Linear(rank, OutFeatures, hasBias: false, device: device, dtype: dtype);
        using (no_grad())
        {
            init.kaiming_uniform_(a.weight!, a: Math.Sqrt(5));   // PEFT's default init for A
            b.weight!.zero_();
        }
        var pair = new LoraPair(a, b, Dropout(dropout), rsLora ? alpha / Math.Sqrt(rank) : alpha / rank, rank);
        register_module($"lora_A_{name}", a);
        register_module($"lora_B_{name}", b);
        register_module($"lora_dropout_{name}", pair.Dropout);
        _adapters[name] = pair;
        return pair;
    }

    public override Tensor forward(Tensor x)
    {
        if (Active is null || !_adapters.TryGetValue(Active, out var p)) return _base.Project(x);
        // The base output, dropout and x·Aᵀ go as soon as the sum exists, not with the layer (autograd keeps what
        // backward needs): the base output alone is as large as the result.
        using var scope = NewDisposeScope();
        var y = _base.Project(x);
        var h = p.A.call(p.Dropout.call(x.to(p.A.weight!.dtype)));
        if (h.dtype != y.dtype) return y.Plus(p.B.call(h).Times(p.Scaling).to(y.dtype)).MoveToOuterDisposeScope();
        // y + scaling·h·Bᵀ as one GEMM accumulating into a copy of y: no separate product, scaling and sum over the
        // [tokens, out] activations, forward or backward (the scaling lands on the rank-sized side).
        return y.reshape(-1, OutFeatures)
            .addmm(h.reshape(-1, p.Rank), p.B.weight!.t(), beta: 1, alpha: (float)p.Scaling).view(y.shape)
            .MoveToOuterDisposeScope();
    }

    /// <summary>Adds ΔW of an adapter into a plain Linear base, in place (and deactivates adapters so the output is
    /// unchanged); <see cref="Unmerge"/> takes it out again.</summary>
    public void Merge(string name) => Shift(name, +1);

    public void Unmerge(string name) => Shift(name, -1);

    private void Shift(string name, int sign)
    {
        if (_base is not Linear linear) throw new InvalidOperationException("only a full-precision Linear base can be merged in place");
        using var _ = no_grad();
        // ΔW, its dtype copy and matmul's product stay referenced while libtorch reads them (export and serving merge
        // in long-lived processes; docs/architecture.md).
        using var scope = NewDisposeScope();
        var delta = DeltaWeight(name);
        linear.weight!.PlusInPlace(delta.to(linear.weight!.dtype), sign);
        Active = sign > 0 ? null : name;
    }

    /// <summary>ΔW = B·A·scaling [out, in] of an adapter, for merging and export.</summary>
    public Tensor DeltaWeight(string name)
    {
        var p = _adapters[name];
        return p.B.weight!.matmul(p.A.weight!).Times(p.Scaling);
    }
}
