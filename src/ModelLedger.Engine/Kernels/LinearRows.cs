namespace ModelLedger.Engine.Kernels;

/// <summary>A projection's input rows: fp32, and their Q8_0 codes and scales when the session quantizes activations
/// (<see cref="Q8MatVec.QuantizeRows"/>; null otherwise).</summary>
internal readonly unsafe struct RowsInput(float* x, sbyte* codes = null, float* scales = null)
{
    public readonly float* X = x;
    public readonly sbyte* Codes = codes;
    public readonly float* Scales = scales;
}

/// <summary>The decode step's projections: fp32 (<see cref="MatVec"/>) or, when the session was built with a Q8_0
/// copy of this weight, int8 × int8 (<see cref="Q8MatVec"/>) on the input's Q8_0 codes; NF4 with fp32 inputs
/// (<see cref="Nf4MatVec"/>).</summary>
internal static unsafe class LinearRows
{
    public static void Rows(this in LinearWeights p, in RowsInput x, int m, float* y, int yStride, int from, int to,
        bool accumulate)
    {
        if (p.Q8 is { } q8)
        {
            if (x.Codes is null) throw new InvalidOperationException("a Q8_0 weight needs Q8_0 activations");
            Q8MatVec.Rows(q8, p.Bias, p.Cols, x.Codes, x.Scales, m, y, yStride, from, to, accumulate);
        }
        else if (p.Nf4 is { } nf4) Nf4MatVec.Rows(nf4, p.Bias, p.Cols, x.X, m, y, yStride, from, to, accumulate);
        else MatVec.Rows(p.W, p.Bias, p.Cols, x.X, m, y, yStride, from, to, accumulate);
    }
}
