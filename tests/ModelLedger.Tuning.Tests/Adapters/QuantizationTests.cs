using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

public sealed class QuantizationTests
{
    [Fact]
    public void Nf4Codebook_MatchesTheQloraPaper()
    {
        var nf4 = FourBitCodebooks.Nf4;
        Assert.Equal(16, nf4.Length);
        Assert.Equal(-1f, nf4[0]);
        Assert.Equal(0f, nf4[7]);
        Assert.Equal(1f, nf4[15]);
        Assert.Equal(-0.6961928009986877f, nf4[1]);
        Assert.Equal(0.07958029955625534f, nf4[8]);
        Assert.Equal(0.7229568362236023f, nf4[14]);
        Assert.Equal(nf4.Order(), nf4);
        Assert.Equal(8, FourBitCodebooks.Fp4.Count(v => v >= 0 && !float.IsNegative(v)));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void FourBit_RoundTripErrorStaysWithinHalfTheWidestCodeGap(bool doubleQuantization, bool fp4)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var linear = Linear(256, 96, hasBias: false);
        var codebook = fp4 ? FourBitCodebooks.Fp4 : FourBitCodebooks.Nf4;
        using var q = new Nf4Linear(linear, codebook, doubleQuantization);
        var w = linear.weight!.detach();
        var restored = q.Dequantize();
        var sorted = codebook.Distinct().Order().ToArray();
        double halfGap = sorted.Zip(sorted.Skip(1), (a, b) => (b - a) / 2.0).Max();
        var absmax = w.reshape(-1, Nf4Linear.BlockSize).abs().amax([1]).unsqueeze(1);
        var error = (w.reshape(-1, Nf4Linear.BlockSize) - restored.reshape(-1, Nf4Linear.BlockSize)).abs();
        // code choice error ≤ half gap · absmax; the 8-bit absmax adds at most half the dynamic map's widest gap
        // (0.9/64 = 0.0140625, between the 10⁰ midpoints) times max |absmax - mean|, per unit code value
        double slack = doubleQuantization ? (absmax - absmax.mean()).abs().max().item<float>() * 0.0140625 / 2 : 0;
        Assert.True((error <= absmax * halfGap + slack + 1e-6).all().item<bool>(), $"max error {error.max().item<float>()}");
        Assert.True((error.mean() < absmax.mean() * 0.1).item<bool>());
    }

    /// <summary>bitsandbytes' create_dynamic_map(signed=True), entries worked out by hand: exponent i has 2^i
    /// midpoints of linspace(0.1, 1, 2^i + 1) scaled by 10^(i-6), both signs, plus 0 and 1.</summary>
    [Fact]
    public void DynamicMap_IsBitsandbytesSignedDynamicMap()
    {
        var map = DynamicMap.Signed;
        Assert.Equal(256, map.Length);
        Assert.Equal(map.Order(), map);
        Assert.Equal(1f, map[^1]);
        Assert.Equal(0.99296875f, map[^2], 1e-7);        // 1 - 0.9/64/2, the last 10⁰ midpoint
        Assert.Equal(-0.99296875f, map[0], 1e-7);        // no -1: the map is not symmetric at its ends
        Assert.Equal(0f, map[127]);
        Assert.Equal(5.5e-7f, map[128], 1e-12);          // i = 0: one midpoint, 0.55, times 10⁻⁶
        Assert.Equal(3.25e-6f, map[129], 1e-11);         // i = 1: 0.325 and 0.775 times 10⁻⁵
        Assert.Equal(7.75e-6f, map[130], 1e-11);
        Assert.Equal(127, map.Count(v => v > 0) - 1);    // 1 + 2 + … + 64 midpoints, plus the 1
    }

    [Theory]
    [InlineData(0.995f, 0.99296875f)]    // 0.00203 from it, 0.005 from 1
    [InlineData(-0.5f, -0.50078125f)]    // 10⁰ midpoints 0.1 + 0.0140625·(j + ½): j = 28 is nearest
    [InlineData(6e-7f, 5.5e-7f)]
    [InlineData(0f, 0f)]
    [InlineData(1f, 1f)]
    public void DynamicMap_PicksTheNearestValue(float x, float expected)
    {
        using var scope = NewDisposeScope();
        var code = Nf4Linear.NearestCode(tensor(new[] { x }), DynamicMap.Signed)[0].item<byte>();
        Assert.Equal(expected, DynamicMap.Signed[code], 1e-7);
    }

    [Fact]
    public void Nf4WithDoubleQuantization_StoresAboutAQuarterOfBf16()
    {
        using var scope = NewDisposeScope();
        var linear = Linear(1024, 1024, hasBias: false);
        using var q = new Nf4Linear(linear, FourBitCodebooks.Nf4, doubleQuantization: true);
        double ratio = q.StoredBytes / (1024.0 * 1024 * 2);
        Assert.InRange(ratio, 0.25, 0.27);
    }

    [Fact]
    public void Int8_RoundTripErrorIsAtMostHalfAStep()
    {
        using var scope = NewDisposeScope();
        var linear = Linear(64, 32);
        using var q = new Int8Linear(linear);
        var w = linear.weight!.detach();
        var step = w.abs().amax([1], keepdim: true) / 127;
        Assert.True(((w - q.Dequantize()).abs() <= step / 2 + 1e-7).all().item<bool>());
        var x = randn(3, 64);
        Assert.True(q.call(x).allclose(linear.call(x), rtol: 0.05, atol: 0.05));
    }
}
