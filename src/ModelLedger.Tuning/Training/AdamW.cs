using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Runtime;
using System.Text.RegularExpressions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Training;

/// <summary>
/// AdamW with decoupled weight decay (Loshchilov &amp; Hutter), matching torch.optim.AdamW's update. Written here so
/// its state (step, first and second moments) checkpoints as plain named tensors and resumes bit-exactly.
/// Two choices follow the HF Trainer that LLaMA-Factory runs: biases and norm weights are not decayed
/// (<see cref="Decays"/>), and parameters held in bf16/fp16 are updated through an fp32 master copy (mixed precision),
/// so updates smaller than a half-precision step are not lost. fp32 CPU parameters update in one fused pass
/// (<see cref="FusedAdamW"/>: same arithmetic, one read and write of the state instead of about ten).
/// </summary>
internal sealed partial class AdamW : IDisposable
{
    private readonly IReadOnlyList<(string Name, Parameter Param)> _params;
    private readonly Tensor[] _m, _v;
    private readonly Tensor?[] _master;
    private readonly bool[] _decay;
    private readonly double _beta1, _beta2, _eps, _weightDecay;

    public long Step { get; private set; }
    public double LearningRate { get; set; }

    public AdamW(IReadOnlyList<(string Name, Parameter Param)> parameters, double lr, double weightDecay,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        _params = parameters;
        (LearningRate, _weightDecay, _beta1, _beta2, _eps) = (lr, weightDecay, beta1, beta2, eps);
        _m = parameters.Select(p => zeros_like(p.Param, dtype: ScalarType.Float32).DetachFromDisposeScope()).ToArray();
        _v = parameters.Select(p => zeros_like(p.Param, dtype: ScalarType.Float32).DetachFromDisposeScope()).ToArray();
        // The detached views stay referenced by the scope while to() reads them (docs/architecture.md).
        using (NewDisposeScope())
            _master = parameters.Select(p => p.Param.dtype == ScalarType.Float32 ? null
                : p.Param.detach().to(ScalarType.Float32).DetachFromDisposeScope()).ToArray();
        _decay = parameters.Select(p => Decays(p.Name)).ToArray();
    }

    /// <summary>Whether weight decay applies to a parameter: not to biases nor to norm weights. The name patterns are
    /// the HF Trainer's (<c>get_decay_parameter_names</c>: bias, layernorm, rmsnorm, a <c>norm</c> path segment,
    /// <c>_norm</c>), matched on the lower-cased full name.</summary>
    public static bool Decays(string name) => !NoDecay().IsMatch(name.ToLowerInvariant());

    [GeneratedRegex(@"bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)")]
    private static partial Regex NoDecay();

    public void Update()
    {
        Step++;
        double correction1 = 1 - Math.Pow(_beta1, Step), correction2 = 1 - Math.Pow(_beta2, Step);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        for (int i = 0; i < _params.Count; i++)
        {
            var p = _params[i].Param;
            if (p.grad is not Tensor g) continue;
            bool decays = _weightDecay != 0 && _decay[i];
            if (_master[i] is null && FusedAdamW.Applies(p, g, _m[i], _v[i]))
            {
                FusedAdamW.Update(p, g, _m[i], _v[i], new FusedAdamW.Settings(
                    decays ? (float)(1 - LearningRate * _weightDecay) : 1f, (float)_beta1, (float)_beta2,
                    (float)(1 - _beta1), (float)(1 - _beta2), (float)(LearningRate / correction1),
                    (float)Math.Sqrt(correction2), (float)_eps));
                continue;
            }
            var weights = _master[i] ?? p;
            var grad = g.to(ScalarType.Float32);
            if (decays) weights.TimesInPlace(1 - LearningRate * _weightDecay);
            _m[i].TimesInPlace(_beta1).PlusInPlace(grad, 1 - _beta1);
            _v[i].TimesInPlace(_beta2).PlusProductInPlace(grad, grad, 1 - _beta2);
            var denom = _v[i].sqrt().Over(Math.Sqrt(correction2)).PlusInPlace(_eps);
            weights.PlusInPlace(_m[i] / denom, -(LearningRate / correction1));
            if (_master[i] is Tensor master) p.copy_(master);
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in _params) p.grad = null;
    }

    /// <summary>State as named tensors (views of the live buffers: write them before the next update).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State() =>
        _params.SelectMany((p, i) => new[] { ($"{p.Name}.exp_avg", _m[i]), ($"{p.Name}.exp_avg_sq", _v[i]) });

    /// <summary>The fp32 master copies of half-precision parameters (checkpointed beside <see cref="State"/>; a
    /// checkpoint written before they existed resumes from the half-precision weights).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> MasterState() => _params
        .Select((p, i) => (Name: $"{p.Name}.master", Tensor: _master[i]))
        .Where(s => s.Tensor is not null).Select(s => (s.Name, s.Tensor!));

    public void Restore(long step, Func<string, Tensor> read, Func<string, Tensor?> readOptional)
    {
        Step = step;
        using var _ = no_grad();
        for (int i = 0; i < _params.Count; i++)
        {
            using var m = read($"{_params[i].Name}.exp_avg");
            using var v = read($"{_params[i].Name}.exp_avg_sq");
            _m[i].copy_(m);
            _v[i].copy_(v);
            if (_master[i] is not Tensor master) continue;
            using var saved = readOptional($"{_params[i].Name}.master");
            master.copy_(saved ?? _params[i].Param);
        }
    }

    public void Dispose()
    {
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
        foreach (var t in _master) t?.Dispose();
    }
}
