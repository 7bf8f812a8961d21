using ModelLedger.Engine.Kernels;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

public sealed class DequantizedLinearTests
{
    /// <summary>The CPU kernel against the libtorch decode of the same codes: both compute codebook[code] · absmax
    /// in one fp32 multiply, so they must agree bit for bit on every path (scalar, AVX2's two 8-entry vpermps,
    /// AVX-512's one) — including an odd element count (half a byte left over, a partial last block decoded scalar),
    /// FP4's codebook (the kernel takes any 16 values) and a layer large enough to be split over the workers.</summary>
    [Theory]
    [InlineData(37, 5, false, false)]
    [InlineData(37, 5, true, false)]
    [InlineData(300, 256, true, false)]
    [InlineData(300, 256, false, true)]
    public void Nf4Kernel_EqualsTheTorchDecodeBitForBit(int inFeatures, int outFeatures, bool doubleQuantization,
        bool fp4)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var q = new Nf4Linear(Linear(inFeatures, outFeatures, hasBias: false),
            fp4 ? FourBitCodebooks.Fp4 : FourBitCodebooks.Nf4, doubleQuantization);
        var reference = q.DequantizeWithTorch();
        try
        {
            foreach (var path in Enum.GetValues<Nf4Path>().Where(Nf4MatVec.Supported))
            {
                FourBitDecode.Force = path;
                var kernel = q.Dequantize();
                Assert.Equal(new long[] { outFeatures, inFeatures }, kernel.shape);
                Assert.True(kernel.eq(reference).all().item<bool>(),
                    $"{path}: max diff {(kernel - reference).abs().max().item<float>()}");
            }
        }
        finally { FourBitDecode.Force = null; }
    }

    /// <summary>ComputeWeight decodes into one buffer per thread: the values equal Dequantize's, a second layer of the
    /// same shape overwrites what the first one's handle sees, and so does a smaller layer of another shape (its
    /// values are the buffer's first elements) — the documented aliasing. A larger shape grows the buffer.</summary>
    [Fact]
    public void ComputeWeight_DecodesIntoOneBufferPerThread()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var first = new Nf4Linear(Linear(128, 64, hasBias: false), FourBitCodebooks.Nf4, true);
        using var second = new Nf4Linear(Linear(128, 64, hasBias: false), FourBitCodebooks.Nf4, true);
        using var smaller = new Nf4Linear(Linear(64, 32, hasBias: false), FourBitCodebooks.Nf4, true);
        using var larger = new Nf4Linear(Linear(256, 64, hasBias: false), FourBitCodebooks.Nf4, true);
        var firstWeight = first.ComputeWeight();
        Assert.True(firstWeight.eq(first.Dequantize()).all().item<bool>());
        var secondWeight = second.ComputeWeight();
        Assert.True(secondWeight.eq(second.Dequantize()).all().item<bool>());
        Assert.True(firstWeight.eq(second.Dequantize()).all().item<bool>());
        var smallerWeight = smaller.ComputeWeight();
        Assert.True(smallerWeight.eq(smaller.Dequantize()).all().item<bool>());
        Assert.True(firstWeight.reshape(-1).narrow(0, 0, 64 * 32).eq(smaller.Dequantize().reshape(-1)).all()
            .item<bool>());
        Assert.True(larger.ComputeWeight().eq(larger.Dequantize()).all().item<bool>());
    }

    /// <summary>Through the custom autograd function dL/dx must equal the hand formula dL/dy · W (W the dequantized
    /// weight, y = x·Wᵀ + b), and the layer must be dequantized once in forward and once more in backward — the sign
    /// that autograd kept no copy of the weight between them.</summary>
    [Fact]
    public void Backward_RedequantizesAndGivesTheLinearInputGradient()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var counting = new CountingLayer(randn(6, 4), randn(6));
        var x = randn(2, 3, 4).requires_grad_(true);
        var y = FrozenLinearForward.Run(counting, x);
        Assert.Equal(1, counting.Calls);
        var expectedY = x.detach().matmul(counting.Weight.t()) + counting.Bias!;
        Assert.True(y.detach().allclose(expectedY, rtol: 1e-6, atol: 1e-6));
        var upstream = randn(2, 3, 6);
        y.backward([upstream]);
        Assert.Equal(2, counting.Calls);
        Assert.True(x.grad!.allclose(upstream.matmul(counting.Weight), rtol: 1e-6, atol: 1e-6));
    }

    /// <summary>Without a gradient to compute, the plain path: one dequantize, no graph.</summary>
    [Fact]
    public void Forward_WithoutGrad_DequantizesOnce()
    {
        using var scope = NewDisposeScope();
        var counting = new CountingLayer(randn(6, 4), null);
        using (no_grad()) FrozenLinearForward.Run(counting, randn(2, 4).requires_grad_(true));
        FrozenLinearForward.Run(counting, randn(2, 4));
        Assert.Equal(2, counting.Calls);
    }

    private sealed class CountingLayer(Tensor weight, Tensor? bias) : IFrozenLinear
    {
        public Tensor Weight { get; } = weight;
        public int Calls { get; private set; }
        public long InFeatures => Weight.shape[1];
        public long OutFeatures => Weight.shape[0];
        public Tensor? Bias { get; } = bias;
        public long StoredBytes => 0;
        public IEnumerable<Tensor> StoredTensors => [Weight];

        public Tensor Dequantize()
        {
            Calls++;
            return Weight.clone();
        }
    }
}
