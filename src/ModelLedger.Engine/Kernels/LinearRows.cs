namespace ModelLedger.Engine.Kernels;

/// <summary>The decode step's projections: fp32 (<see cref="MatVec"/>) or through the Q8_0 copy when the session
/// was built with one (<see cref="Q8MatVec"/>).</summary>
internal static unsafe class LinearRows
{
    public static void Rows(this in LinearWeights p, float* x, int m, float* y, int yStride, int from, int to,
        bool accumulate)
    {
        if (p.Q8 is { } q8) Q8MatVec.Rows(q8, p.Bias, p.Cols, x, m, y, yStride, from, to, accumulate);
        else MatVec.Rows(p.W, p.Bias, p.Cols, x, m, y, yStride, from, to, accumulate);
    }
}
