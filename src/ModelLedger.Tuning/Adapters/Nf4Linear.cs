using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

/// <summary>The 4-bit data types of QLoRA (Dettmers et al. 2023): values a 4-bit code stands for, scaled by the
/// block's absmax.</summary>
internal static class FourBitCodebooks
{
    /// <summary>NormalFloat4 (<see cref="Engine.Quantization.Nf4.Codebook"/>: the decode step reads it too).</summary>
    public static readonly float[] Nf4 = Engine.Quantization.Nf4.Codebook;

    /// <summary>FP4 (E2M1 with bitsandbytes' subnormal), by code: sign bit 8, then the magnitudes in its bit order.</summary>
    public static readonly float[] Fp4 =
    [
        0f, 0.0052083333f, 0.6666667f, 1f, 0.3333333f, 0.5f, 0.1666667f, 0.25f,
        -0f, -0.0052083333f, -0.6666667f, -1f, -0.3333333f, -0.5f, -0.1666667f, -0.25f,
    ];
}

/// <summary>
/// A frozen linear layer whose weight is stored in 4 bits: blocks of 64 weights, each code the nearest codebook value
/// of w / absmax(block). With double quantization the fp32 absmax constants are themselves stored in 8 bits (blocks
/// of 256 around their mean, in bitsandbytes' dynamic 8-bit map, <see cref="DynamicMap"/>) — 4.127 bits per weight in
/// all. The weight is dequantized on the fly in forward, so gradients flow to the input (and to a LoRA beside it)
/// while the codes stay fixed.
/// </summary>
internal sealed class Nf4Linear : Module<Tensor, Tensor>, IFrozenLinear
{
    private static readonly TorchSharp.Scalar Sixteen = 16.ToScalar();
    public const int BlockSize = 64;
    public const int AbsmaxBlockSize = 256;

    private readonly Tensor _codes;         // uint8 [n/2], two codes per byte (high nibble first)
    private readonly Tensor _codebook;      // [16] fp32
    private readonly float[] _codebookValues;
    private readonly Tensor? _absmax;       // [blocks] fp32 (no double quantization)
    private readonly Tensor? _absmaxCodes;  // uint8 [blocks]: indices into the dynamic map (double quantization)
    private readonly Tensor? _absmaxMap;    // fp32 [256]: bitsandbytes' dynamic 8-bit map
    private readonly Tensor? _absmaxScales; // fp32 [ceil(blocks/256)]
    private readonly double _absmaxMean;
    private readonly long _numel;
    private readonly ScalarType _computeType;

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Tensor? Bias { get; }

    public Nf4Linear(Linear source, float[] codebook, bool doubleQuantization)
        : this(source.weight!, source.bias, codebook, doubleQuantization) { }

    /// <summary>Quantizes <paramref name="weight"/> [out, in] (read, not kept: the caller may free it at once, as a
    /// layer-by-layer load does); <paramref name="bias"/> is copied.</summary>
    public Nf4Linear(Tensor weight, Tensor? bias, float[] codebook, bool doubleQuantization) : base("Nf4Linear")
    {
        // From the first op: the detached views are referenced by the scope while libtorch reads them.
        using var scope = NewDisposeScope();
        var w = weight.detach();
        (OutFeatures, InFeatures) = (w.shape[0], w.shape[1]);
        _computeType = w.dtype;
        _numel = w.numel();
        Bias = bias?.detach().clone().DetachFromDisposeScope();
        _codebookValues = codebook;
        _codebook = tensor(codebook, device: w.device).DetachFromDisposeScope();
        long blocks = (_numel + BlockSize - 1) / BlockSize;
        var flat = functional.pad(w.to(ScalarType.Float32).reshape(-1), [0, blocks * BlockSize - _numel]).view(blocks, BlockSize);
        var absmax = flat.abs().amax([1]).ClampMin(1e-12f);                  // [blocks]
        var normalized = flat / absmax.unsqueeze(1);                          // [-1, 1]
        var codes = NearestCode(normalized, codebook).view(-1);                        // [blocks*64] uint8 0..15
        var pairs = codes.view(-1, 2);
        _codes = pairs[.., 0].to(ScalarType.Int32).mul(Sixteen).Plus(pairs[.., 1].to(ScalarType.Int32)).to(ScalarType.Byte).DetachFromDisposeScope();
        if (doubleQuantization)
        {
            _absmaxMean = absmax.mean().item<float>();
            long groups = (blocks + AbsmaxBlockSize - 1) / AbsmaxBlockSize;
            var centered = functional.pad(absmax.Minus(_absmaxMean), [0, groups * AbsmaxBlockSize - blocks]).view(groups, AbsmaxBlockSize);
            var scales = centered.abs().amax([1]).ClampMin(1e-12f);
            // bitsandbytes' quantize_blockwise: nearest value of its dynamic 8-bit map to absmax / block absmax
            _absmaxMap = tensor(DynamicMap.Signed, device: w.device).DetachFromDisposeScope();
            var normalizedAbsmax = (centered / scales.unsqueeze(1)).view(-1).narrow(0, 0, blocks);
            _absmaxCodes = NearestCode(normalizedAbsmax, DynamicMap.Signed).DetachFromDisposeScope();
            _absmaxScales = scales.DetachFromDisposeScope();
        }
        else _absmax = absmax.DetachFromDisposeScope();
    }

    /// <summary>Index (uint8) of the nearest codebook value for each element, the lower one on a tie. On the CPU
    /// a binary search per value (<see cref="NearestCodes"/>); elsewhere a [n, codes] distance matrix and argmin,
    /// chunked to bound it at 2^24 entries — the definition the CPU search must equal.</summary>
    internal static Tensor NearestCode(Tensor values, float[] codebook)
    {
        if (NearestCodes.Applies(values)) return NearestCodes.Find(values, codebook);
        using var scope = NewDisposeScope();
        var table = tensor(codebook, device: values.device);
        var flat = values.reshape(-1);
        var parts = new List<Tensor>();
        long chunk = (1L << 24) / codebook.Length;
        for (long start = 0; start < flat.shape[0]; start += chunk)
        {
            var part = flat.narrow(0, start, Math.Min(chunk, flat.shape[0] - start));
            parts.Add(part.unsqueeze(1).Minus(table.unsqueeze(0)).abs().argmin(1).to(ScalarType.Byte));
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>The absmax of every 64-block, decoded from 8 bits when double-quantized.</summary>
    private Tensor Absmax()
    {
        if (_absmax is not null) return _absmax;
        long blocks = _absmaxCodes!.shape[0];
        var scales = _absmaxScales!.repeat_interleave(AbsmaxBlockSize).narrow(0, 0, blocks);
        return _absmaxMap!.index_select(0, _absmaxCodes.to(ScalarType.Int64)).mul(scales).Plus(_absmaxMean);
    }

    public Tensor Dequantize() => Decode(scratch: false);

    public Tensor ComputeWeight() => Decode(scratch: true);

    private Tensor Decode(bool scratch)
    {
        using var scope = NewDisposeScope();
        var scales = _absmax is not null ? new FourBitDecode.BlockScales(_absmax)
            : new FourBitDecode.BlockScales(new FourBitDecode.DoubleQuantized(_absmaxCodes!, _absmaxMap!,
                _absmaxScales!, AbsmaxBlockSize, (float)_absmaxMean));
        if (!FourBitDecode.Applies(_codes, scales)) return DequantizeWithTorch(Absmax()).MoveToOuterDisposeScope();
        long[] shape = [OutFeatures, InFeatures];
        var decoded = scratch ? FourBitDecode.DecodeToScratch(_codes, scales, _codebookValues, BlockSize, shape)
            : FourBitDecode.Decode(_codes, scales, _codebookValues, BlockSize, shape);
        return decoded.to(_computeType).MoveToOuterDisposeScope();
    }

    /// <summary>The same decode in libtorch operations (any device); the CPU kernel must equal it bit for bit.</summary>
    internal Tensor DequantizeWithTorch()
    {
        using var scope = NewDisposeScope();
        return DequantizeWithTorch(Absmax()).MoveToOuterDisposeScope();
    }

    private Tensor DequantizeWithTorch(Tensor absmax)
    {
        using var scope = NewDisposeScope();
        var bytes = _codes.to(ScalarType.Int64);
        var high = bytes.floor_divide(Sixteen);   // a static Scalar: see HeldScalars
        var low = bytes.remainder(Sixteen);
        var codes = stack([high, low], 1).view(-1);                            // [blocks*64]
        var values = _codebook.index_select(0, codes).view(-1, BlockSize) * absmax.unsqueeze(1);
        return values.view(-1).narrow(0, 0, _numel).view(OutFeatures, InFeatures).to(_computeType).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x) => FrozenLinearForward.Run(this, x);

    public long StoredBytes => _codes.numel() + _codebook.numel() * 4 + (_absmax?.numel() * 4 ?? 0)
        + (_absmaxCodes?.numel() ?? 0) + (_absmaxScales?.numel() * 4 ?? 0) + (_absmaxMap?.numel() * 4 ?? 0) + 8;

    public IEnumerable<Tensor> StoredTensors =>
        new[] { _codes, _absmax, _absmaxCodes, _absmaxScales, Bias }.OfType<Tensor>();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var t in new[] { _codes, _codebook, _absmax, _absmaxCodes, _absmaxMap, _absmaxScales, Bias })
                t?.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>LLM.int8-style frozen linear: int8 codes with one absmax scale per output row (no outlier split);
/// dequantized on the fly.</summary>
internal sealed class Int8Linear : Module<Tensor, Tensor>, IFrozenLinear
{
    private readonly Tensor _codes;   // int8 [out, in]
    private readonly Tensor _scales;  // fp32 [out]
    private readonly ScalarType _computeType;

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Tensor? Bias { get; }

    public Int8Linear(Linear source) : this(source.weight!, source.bias) { }

    /// <summary>Quantizes <paramref name="weight"/> [out, in] (read, not kept); <paramref name="bias"/> is copied.
    /// </summary>
    public Int8Linear(Tensor weight, Tensor? bias) : base("Int8Linear")
    {
        // From the first op: the detached views are referenced by the scope while libtorch reads them.
        using var scope = NewDisposeScope();
        var w = weight.detach();
        (OutFeatures, InFeatures) = (w.shape[0], w.shape[1]);
        _computeType = w.dtype;
        Bias = bias?.detach().clone().DetachFromDisposeScope();
        var w32 = w.to(ScalarType.Float32);
        var scales = w32.abs().amax([1]).ClampMin(1e-12f);
        _codes = (w32 / scales.unsqueeze(1)).Times(127).round().Clamp(-127, 127).to(ScalarType.Int8).DetachFromDisposeScope();
        _scales = scales.DetachFromDisposeScope();
    }

    /// <summary>The weight; the caller owns it. A scope of its own: backward calls this on libtorch's autograd thread
    /// (a device thread on CUDA), where no caller's scope references the temporaries.</summary>
    public Tensor Dequantize()
    {
        using var scope = NewDisposeScope();
        return (_codes.to(ScalarType.Float32) * _scales.Over(127).unsqueeze(1)).to(_computeType)
            .MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x) => FrozenLinearForward.Run(this, x);

    public long StoredBytes => _codes.numel() + _scales.numel() * 4;

    public IEnumerable<Tensor> StoredTensors => new[] { _codes, _scales, Bias }.OfType<Tensor>();

    protected override void Dispose(bool disposing)
    {
        if (disposing) { _codes.Dispose(); _scales.Dispose(); Bias?.Dispose(); }
        base.Dispose(disposing);
    }
}
