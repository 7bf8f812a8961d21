using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>The quantizers' code search (a binary search per value on the CPU) against the definition it replaced:
/// argmin over the codebook of |x - c| in float32, the first index on a tie.</summary>
public sealed class NearestCodeTests
{
    public static TheoryData<string> Codebooks => ["nf4", "fp4", "dynamic"];

    private static float[] Codebook(string name) => name switch
    {
        "nf4" => FourBitCodebooks.Nf4,
        "fp4" => FourBitCodebooks.Fp4,   // unsorted, and 0 and -0 are both in it
        _ => DynamicMap.Signed,
    };

    /// <summary>The definition, written out: first strict minimum of the float32 distances.</summary>
    private static byte Reference(float x, float[] codebook)
    {
        int best = 0;
        for (int k = 1; k < codebook.Length; k++)
            if (MathF.Abs(x - codebook[k]) < MathF.Abs(x - codebook[best])) best = k;
        return (byte)best;
    }

    /// <summary>Random values in and beyond [-1, 1], every code value, every midpoint of two neighbouring values
    /// (a tie, or one ulp from one after rounding) and its neighbours one and two ulps away, signed zeros, infinities
    /// and NaN.</summary>
    private static float[] Probes(float[] codebook)
    {
        var random = new Random(16);
        var probes = new List<float> { 0f, -0f, 2f, -2f, float.PositiveInfinity, float.NegativeInfinity, float.NaN };
        for (int i = 0; i < 4000; i++) probes.Add((float)(random.NextDouble() * 2.4 - 1.2));
        var sorted = codebook.Distinct().Order().ToArray();
        probes.AddRange(sorted);
        for (int k = 0; k + 1 < sorted.Length; k++)
        {
            float mid = (sorted[k] + sorted[k + 1]) / 2;
            float down = MathF.BitDecrement(mid), up = MathF.BitIncrement(mid);
            probes.AddRange([mid, down, up, MathF.BitDecrement(down), MathF.BitIncrement(up)]);
        }
        return [.. probes];
    }

    [Theory]
    [MemberData(nameof(Codebooks))]
    public void NearestCode_EqualsTheFirstMinimumOfTheDistances(string name)
    {
        using var scope = NewDisposeScope();
        var codebook = Codebook(name);
        var probes = Probes(codebook);
        var codes = Nf4Linear.NearestCode(tensor(probes), codebook).data<byte>().ToArray();
        for (int i = 0; i < probes.Length; i++)
            Assert.True(Reference(probes[i], codebook) == codes[i],
                $"{name}: x = {probes[i]:R}: code {codes[i]}, expected {Reference(probes[i], codebook)}");
    }

    /// <summary>Enough values for the parallel split, against libtorch's argmin over the distance matrix (the way
    /// the codes were found before).</summary>
    [Theory]
    [MemberData(nameof(Codebooks))]
    public void NearestCode_EqualsLibtorchArgminOverTheDistanceMatrix(string name)
    {
        using var scope = NewDisposeScope();
        var codebook = Codebook(name);
        manual_seed(7);
        var values = randn(300, 1000) * 0.45;   // mostly inside [-1, 1], some beyond
        var expected = (values.reshape(-1).unsqueeze(1) - tensor(codebook).unsqueeze(0)).abs().argmin(1)
            .to(ScalarType.Byte);
        Assert.True(Nf4Linear.NearestCode(values, codebook).eq(expected).all().item<bool>());
    }
}
