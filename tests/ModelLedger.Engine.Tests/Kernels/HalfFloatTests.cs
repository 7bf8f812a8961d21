using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>The 16-bit KV cache conversions against libtorch's own (the reference): bit-equal both ways on values
/// spanning normals, fp16 subnormals, zeros of both signs, infinities and values that round to them, lengths with
/// and without a vector tail.</summary>
public sealed unsafe class HalfFloatTests
{
    [Theory]
    [InlineData(ScalarType.Float16, 1000)]
    [InlineData(ScalarType.Float16, 13)]
    [InlineData(ScalarType.BFloat16, 1000)]
    [InlineData(ScalarType.BFloat16, 13)]
    public void Conversions_AreBitEqualToLibtorch(ScalarType type, int n)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: 5);
        var magnitudes = pow(10.0, rand([n], generator: generator, dtype: ScalarType.Float64) * 20 - 12);
        var signs = randn([n], generator: generator, dtype: ScalarType.Float64).sign();
        var values = (magnitudes * signs).to(ScalarType.Float32);
        values[0] = 0f;
        values[1] = -0f;
        values[2] = float.PositiveInfinity;
        values[3] = 70000f;   // past fp16's largest finite value: rounds to infinity
        values[4] = 3e-8f;    // an fp16 subnormal
        var floats = values.data<float>().ToArray();
        var converted = values.to(type);
        var expected16 = new ReadOnlySpan<ushort>(TensorData.Pointer<ushort>(converted), n).ToArray();
        var ours16 = new ushort[n];
        fixed (float* src = floats)
        fixed (ushort* dst = ours16)
            HalfFloat.FromFloat(src, dst, n, type == ScalarType.BFloat16);
        Assert.Equal(expected16, ours16);

        var expected32 = values.to(type).to(ScalarType.Float32).data<float>().ToArray();
        var ours32 = new float[n];
        fixed (ushort* src = ours16)
        fixed (float* dst = ours32)
            HalfFloat.ToFloat(src, dst, n, type == ScalarType.BFloat16);
        Assert.Equal(expected32.Select(BitConverter.SingleToUInt32Bits),
            ours32.Select(BitConverter.SingleToUInt32Bits));
    }
}
