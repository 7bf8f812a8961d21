namespace ModelLedger.Engine.Quantization;

/// <summary>QLoRA's NormalFloat4 (Dettmers et al. 2023): blocks of 64 weights, each a code of 4 bits standing for
/// codebook[code] · absmax(block). Tuning's Nf4Linear stores it for training; the decode step reads it for inference
/// (Kernels/Nf4Weights), from the same codebook and the same nearest-code rule.</summary>
public static class Nf4
{
    public const int BlockSize = 64;

    /// <summary>Quantiles of N(0,1) normalised to [-1, 1], with an exact zero (QLoRA appendix E).</summary>
    public static readonly float[] Codebook =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
        -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
        0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f,
        1.0f,
    ];
}
