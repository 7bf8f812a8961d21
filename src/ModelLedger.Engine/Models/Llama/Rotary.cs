using ModelLedger.Engine.Runtime;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models.Llama;

/// <summary>
/// Rotary position tables in HF's rotate-half layout: cos/sin over [position, headDim] where the second half of the
/// frequencies repeats the first. Computed in fp32 (as HF does) and cast to the activation dtype per call. The table
/// belongs to the model; it grows when a longer position is asked for.
/// </summary>
internal sealed class Rotary : IDisposable
{
    private readonly LlamaConfig _config;
    private Tensor? _cos, _sin;   // [positions, headDim] fp32 on the model's device

    public Rotary(LlamaConfig config) => _config = config;

    /// <summary>cos/sin [B, 1, T, D] for position ids [B, T], all below <paramref name="positionLimit"/> (the caller
    /// knows the bound, so no host sync is spent finding it). Result tensors belong to the caller's scope.</summary>
    public (Tensor Cos, Tensor Sin) For(Tensor positions, long positionLimit, ScalarType dtype)
    {
        EnsureTable(Math.Max(positionLimit, _config.MaxPositionEmbeddings), positions.device);
        var flat = positions.reshape(-1);
        long b = positions.shape[0], t = positions.shape[1];
        var cos = _cos!.index_select(0, flat).view(b, 1, t, -1).to(dtype);
        var sin = _sin!.index_select(0, flat).view(b, 1, t, -1).to(dtype);
        return (cos, sin);
    }

    /// <summary>The whole cos/sin tables [positions ≥ <paramref name="length"/>, headDim] fp32, for the C# decode
    /// step; owned by this object and replaced when a longer one is asked for.</summary>
    public (Tensor Cos, Tensor Sin) Table(long length, Device device)
    {
        EnsureTable(Math.Max(length, _config.MaxPositionEmbeddings), device);
        return (_cos!, _sin!);
    }

    /// <summary>x * cos + rotate_half(x) * sin with rotate_half(x) = cat(-x[D/2:], x[:D/2]).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        // the halves and products go now, not with the layer, where that is safe (see there)
        using var scope = GradientCheckpoint.FreesTemporariesEarly ? NewDisposeScope() : null;
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        var result = (x * cos).Plus(rotated * sin);
        return scope is null ? result : result.MoveToOuterDisposeScope();
    }

    /// <summary>Inverse frequencies with rope_scaling applied (linear: divide; llama3: smooth per-band rescale).</summary>
    internal static float[] InverseFrequencies(LlamaConfig c)
    {
        int dim = c.HeadDim;
        var inv = new float[dim / 2];
        for (int i = 0; i < inv.Length; i++) inv[i] = (float)(1.0 / Math.Pow(c.RopeTheta, (float)(2 * i) / dim));
        var s = c.Rope;
        if (s.Type == RopeScalingType.Linear)
            for (int i = 0; i < inv.Length; i++) inv[i] = (float)(inv[i] / s.Factor);
        else if (s.Type == RopeScalingType.Llama3)
        {
            double lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
            double highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
            for (int i = 0; i < inv.Length; i++)
            {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowWavelen) inv[i] = (float)(inv[i] / s.Factor);
                else if (wavelen >= highWavelen)
                {
                    double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    inv[i] = (float)((1 - smooth) * inv[i] / s.Factor + smooth * inv[i]);
                }
            }
        }
        return inv;
    }

    private void EnsureTable(long length, Device device)
    {
        if (_cos is not null && _cos.shape[0] >= length && _cos.device_type == device.type && _cos.device_index == device.index) return;
        _cos?.Dispose();
        _sin?.Dispose();
        using var scope = NewDisposeScope();
        var inv = tensor(InverseFrequencies(_config), device: device);
        var positions = arange(length, dtype: ScalarType.Float32, device: device);
        var freqs = outer(positions, inv);
        var emb = cat([freqs, freqs], -1);
        _cos = emb.cos().DetachFromDisposeScope();
        _sin = emb.sin().DetachFromDisposeScope();
    }

    public void Dispose()
    {
        _cos?.Dispose();
        _sin?.Dispose();
    }
}
