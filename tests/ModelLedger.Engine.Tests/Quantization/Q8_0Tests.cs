namespace ModelLedger.Engine.Quantization;

/// <summary>The Q8_0 quantizer against blocks worked by hand from ggml's quantize_row_q8_0_ref (d = absmax / 127,
/// q = roundf(x / d), d stored as f16).</summary>
public sealed class Q8_0Tests
{
    [Fact]
    public void Encode_MatchesHandWorkedBlocks()
    {
        var values = new float[96];
        // Block 0: absmax 127, so d = 1 and q = round(x) with ties away from zero (roundf): 2.5 → 3, -2.5 → -3.
        float[] first = [127, -127, 0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 3.49f, 100.4f];
        first.CopyTo(values, 0);
        // Block 1: all zero: d = 0 and every code 0.
        // Block 2: absmax 254, d = 2: 3 → round(1.5) = 2, -5 → round(-2.5) = -3, 254 → 127.
        values[64] = 3;
        values[65] = -5;
        values[66] = 254;
        var bytes = Q8_0.Encode(values);
        Assert.Equal(3 * 34, bytes.Length);
        byte[] block0 = [0x00, 0x3C, 127, 0x81, 1, 0xFF, 2, 3, 0xFD, 3, 100];   // f16 1.0 = 0x3C00, little-endian
        Assert.Equal(block0, bytes[..11]);
        Assert.All(bytes[11..34], b => Assert.Equal(0, b));
        Assert.All(bytes[34..68], b => Assert.Equal(0, b));
        byte[] block2 = [0x00, 0x40, 2, 0xFD, 127];                              // f16 2.0 = 0x4000
        Assert.Equal(block2, bytes[68..73]);
        Assert.All(bytes[73..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Scale_IsRoundedToHalf()
    {
        // absmax 1: d = 1/127 = 0.0078740; f16 has 2^-7 · (1 + m/1024) there, m = round(0.0078740·128·1024 − 1024)
        // = round(8.06) = 8: bits 0 01000 0000001000 = 0x2008. The codes use the unrounded d: 1 → 127.
        var values = new float[32];
        values[0] = 1;
        values[1] = -0.25f;   // -0.25 · 127 = -31.75 → -32
        var bytes = Q8_0.Encode(values);
        Assert.Equal(new byte[] { 0x08, 0x20, 127, unchecked((byte)-32) }, bytes[..4]);
    }

    [Fact]
    public void Dequantize_IsCodesTimesHalfScale()
    {
        var values = new float[32];
        values[0] = 1;
        values[1] = -0.25f;
        var result = new float[32];
        Q8_0.Dequantize(values, result);
        float d = (float)BitConverter.UInt16BitsToHalf(0x2008);   // the scale of the block above
        Assert.Equal(127 * d, result[0]);
        Assert.Equal(-32 * d, result[1]);
        Assert.All(result[2..], v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() => Q8_0.Encode(new float[33]));
    }
}
