using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

/// <summary>
/// The scan side of a query, laid out for memory bandwidth: every checkpoint's sketch of example i, each multiplied by
/// its per-row factor a_{i,c} (η_c for the dot and Fisher scores, η_c/‖g_{i,c}‖ for cosine), concatenated into one row
/// of width C·k, so a whole TracIn-CP score is one dot product with the concatenated query, score_i = ⟨row_i, q⟩.
/// Rows are stored as IEEE half precision with one float scale per row (row_i = scale_i·h_i, |h_i| ≤ 1), so the scan
/// reads 2·C·k + 4 bytes per example instead of 4·C·k; half's 11-bit significand adds a relative error of ≤ 2⁻¹¹ per
/// element, far below the sketch's own 1/√k. Blocks of rows are scanned in parallel on every core.
/// </summary>
internal sealed class FoldedSketches
{
    private const int BlockRows = 1024;
    private readonly Half[][] _blocks;   // [blocks][BlockRows · Width]; the last block may be shorter
    private readonly float[] _scales;    // [N]

    public int Rows { get; }
    public int Width { get; }
    /// <summary>Bytes the scan reads per example.</summary>
    public int BytesPerRow => 2 * Width + 4;

    private FoldedSketches(int rows, int width, Half[][] blocks, float[] scales) =>
        (Rows, Width, _blocks, _scales) = (rows, width, blocks, scales);

    /// <summary>Folds per-checkpoint sketches [N, k] with weights η_c; with <paramref name="normalise"/> each
    /// checkpoint's part of a row is also divided by its norm (zero rows stay zero).</summary>
    public static FoldedSketches Fold(IReadOnlyList<Tensor> sketches, IReadOnlyList<double> weights, bool normalise)
    {
        int rows = (int)sketches[0].shape[0], dims = (int)sketches[0].shape[1], width = dims * sketches.Count;
        if (sketches.Any(s => s.dtype != ScalarType.Float32))
            throw new ArgumentException("sketches must be float32 tensors", nameof(sketches));
        var scales = new float[rows];
        var blocks = new Half[(rows + BlockRows - 1) / BlockRows][];
        Parallel.For(0, blocks.Length, b =>
        {
            int first = b * BlockRows, count = Math.Min(BlockRows, rows - first);
            var block = new Half[count * width];
            var row = new float[width];
            // One block's rows of each checkpoint at a time: an index of 100k rows is 200 MB per checkpoint.
            var data = sketches.Select(s =>
            {
                using var view = s.narrow(0, first, count);
                using var rowsOfBlock = view.clone();   // own storage: the copy starts at its first row
                return rowsOfBlock.data<float>().ToArray();
            }).ToArray();
            for (int r = 0; r < count; r++)
            {
                for (int c = 0; c < data.Length; c++)
                {
                    ReadOnlySpan<float> part = data[c].AsSpan(r * dims, dims);
                    float factor = (float)weights[c];
                    if (normalise)
                    {
                        float norm = TensorPrimitives.Norm(part);
                        factor = norm > 0 ? factor / norm : 0;
                    }
                    TensorPrimitives.Multiply(part, factor, row.AsSpan(c * dims, dims));
                }
                ReadOnlySpan<float> folded = row;
                float scale = Math.Abs(TensorPrimitives.MaxMagnitude(folded));   // MaxMagnitude keeps the sign
                scales[first + r] = scale;
                if (scale > 0) TensorPrimitives.Divide(folded, scale, row.AsSpan());
                TensorPrimitives.ConvertToHalf(folded, block.AsSpan(r * width, width));
            }
            blocks[b] = block;
        });
        return new FoldedSketches(rows, width, blocks, scales);
    }

    /// <summary>⟨row_i, query⟩ for every row: one pass over the matrix, blocks in parallel.</summary>
    public double[] Dot(ReadOnlySpan<float> query)
    {
        if (query.Length != Width) throw new ArgumentException($"query has {query.Length} values, rows have {Width}", nameof(query));
        var q = query.ToArray();
        var result = new double[Rows];
        Parallel.For(0, _blocks.Length, () => new float[Width], (b, _, row) =>
        {
            var block = _blocks[b];
            int first = b * BlockRows, count = block.Length / Width;
            for (int r = 0; r < count; r++)
            {
                TensorPrimitives.ConvertToSingle(block.AsSpan(r * Width, Width), row.AsSpan());
                result[first + r] = _scales[first + r] * TensorPrimitives.Dot((ReadOnlySpan<float>)row, (ReadOnlySpan<float>)q);
            }
            return row;
        }, _ => { });
        return result;
    }
}
