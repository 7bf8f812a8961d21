namespace ModelLedger.Tuning.Adapters;

/// <summary>
/// bitsandbytes' signed dynamic 8-bit data type (<c>create_dynamic_map(signed=True, max_exponent_bits=7,
/// total_bits=8)</c>, Dettmers 2015), which QLoRA's double quantization uses for the absmax constants: for exponent
/// i = 0..6, 2^i fractions (the midpoints of linspace(0.1, 1, 2^i + 1)) times 10^(i-6), both signs, plus 0 and 1.
/// Values follow torch's float32 linspace and midpoints, so they equal bitsandbytes' to float32 rounding.
/// </summary>
internal static class DynamicMap
{
    /// <summary>The 256 code values, ascending.</summary>
    public static float[] Signed { get; } = Build();

    private static float[] Build()
    {
        var data = new List<float> { 0f, 1f };
        for (int i = 0; i < 7; i++)
        {
            var bounds = Linspace(0.1f, 1f, (1 << i) + 1);
            float scale = (float)Math.Pow(10, i - 6);
            for (int j = 0; j + 1 < bounds.Length; j++)
            {
                float mean = (bounds[j] + bounds[j + 1]) / 2f;
                data.Add(scale * mean);
                data.Add(-scale * mean);
            }
        }
        return [.. data.Order()];
    }

    /// <summary>torch.linspace in float32: the first half counted up from start, the rest down from end.</summary>
    private static float[] Linspace(float start, float end, int steps)
    {
        float step = (end - start) / (steps - 1);
        return Enumerable.Range(0, steps)
            .Select(i => i < steps / 2 ? start + step * i : end - step * (steps - i - 1)).ToArray();
    }
}
