using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Runtime;
using ModelLedger.Testing;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Engine.Models;

/// <summary>
/// What a layer's parts hold while they run, in live malloc bytes (mallinfo2): a checkpointed forward and inference
/// keep no graph, so only the operands still to be used need to live. Sizes by hand: elements x 4 bytes (fp32).
/// Results against the plain formulas written here. In the non-parallel collection: live bytes are a process figure.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class LayerWorkingSetTests
{
    private const double MiB = 1 << 20;

    private static long Live() => HeapStatistics.Read()!.Value.LiveBytes;

    /// <summary>Calls <paramref name="seen"/> just before the wrapped projection runs.</summary>
    private sealed class Probe(Module<Tensor, Tensor> inner, Action seen) : Module<Tensor, Tensor>("probe")
    {
        public override Tensor forward(Tensor x)
        {
            seen();
            return inner.call(x);
        }
    }

    [Fact]
    public void MlpWithoutGrad_HoldsOneIntermediateBuffer_WhenDownRuns()
    {
        if (HeapStatistics.Read() is null) return;   // not Linux with glibc: no mallinfo2 to count with
        using var scope = NewDisposeScope();
        manual_seed(3);
        var mlp = new Mlp(new LlamaConfig { HiddenSize = 64, IntermediateSize = 4096 });
        var (gate, up, down) = (Weight(mlp, "gate_proj"), Weight(mlp, "up_proj"), Weight(mlp, "down_proj"));
        long before = 0, atDown = 0;
        mlp.Replace("down_proj", inner => new Probe(inner, () => atDown = Live() - before));
        var x = randn(1, 512, 64);
        using var noGrad = no_grad();
        mlp.call(x).Dispose();   // once before counting: MKL keeps GEMM buffers (~6 MiB) from its first call on
        before = Live();
        var y = mlp.call(x);
        // [512, 4096] fp32 is 8 MiB: the gate buffer, holding silu(gate)·up by then; the graph-free path used to
        // hold gate, up, silu and the product (32)
        Assert.InRange(atDown / MiB, 7.5, 10);
        var silu = functional.linear(x, gate) * functional.sigmoid(functional.linear(x, gate));
        var expected = functional.linear(silu * functional.linear(x, up), down);
        Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void RotaryWithoutGrad_KeepsOnlyItsResult()
    {
        if (HeapStatistics.Read() is null) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        manual_seed(4);
        var x = randn(4, 8, 512, 64);                    // 4 MiB
        var angle = rand(1, 1, 512, 64);
        var (cos, sin) = (angle.cos(), angle.sin());
        long before = Live();
        var rotated = Rotary.Apply(x, cos, sin);
        // the result only (4 MiB); the halves, their concatenation and both products went with the call (20)
        Assert.InRange((Live() - before) / MiB, 3.9, 4.6);
        // HF's rotate_half by hand: first half x₁cos − x₂sin, second half x₂cos + x₁sin
        var (x1, x2) = (x.narrow(-1, 0, 32), x.narrow(-1, 32, 32));
        var (c1, c2, s1, s2) = (cos.narrow(-1, 0, 32), cos.narrow(-1, 32, 32), sin.narrow(-1, 0, 32),
            sin.narrow(-1, 32, 32));
        Assert.True(rotated.narrow(-1, 0, 32).allclose(x1 * c1 - x2 * s1, rtol: 1e-5, atol: 1e-6));
        Assert.True(rotated.narrow(-1, 32, 32).allclose(x2 * c2 + x1 * s2, rtol: 1e-5, atol: 1e-6));
    }

    /// <summary>Inside a checkpointed block both passes free early: its forward has no graph, and its recompute in
    /// backward (with one) is the step's peak. A plain forward with a graph keeps them to the layer's end.</summary>
    [Fact]
    public void TemporariesGoEarly_WithoutGradOrInsideACheckpoint_NotInAPlainForwardWithGrad()
    {
        using var scope = NewDisposeScope();
        var seen = new List<bool>();
        var x = randn(2, 3).requires_grad_(true);
        Assert.False(GradientCheckpoint.FreesTemporariesEarly);
        var y = GradientCheckpoint.Run(x, t =>
        {
            seen.Add(GradientCheckpoint.FreesTemporariesEarly);
            return t * 2;
        });
        Assert.False(GradientCheckpoint.FreesTemporariesEarly);
        y.sum().backward();
        Assert.Equal([true, true], seen);   // its forward, then its recompute
        Assert.True(x.grad!.eq(2f).all().item<bool>());
        using (no_grad()) Assert.True(GradientCheckpoint.FreesTemporariesEarly);
    }

    /// <summary>Two checkpointed blocks reading one shared tensor s = 2p made outside them (as every layer reads the
    /// prefix graph): h = x·s + s². By hand, dL/dx = s and dL/dp = 2·(x + 2s) for L = Σh.</summary>
    [Fact]
    public void CheckpointedBlocks_SharingAnInput_GetItsGradientsOnce()
    {
        using var scope = NewDisposeScope();
        var p = tensor(new[] { 0.5f, -1f, 2f }).requires_grad_(true);
        var x = tensor(new[] { 3f, 0.25f, -2f }).requires_grad_(true);
        var s = p * 2;
        var h = GradientCheckpoint.Run(x, [s], (t, e) => t * e[0]);
        h = GradientCheckpoint.Run(h, [s], (t, e) => t + e[0] * e[0]);
        h.sum().backward();
        Assert.Equal(new[] { 1f, -2f, 4f }, x.grad!.data<float>().ToArray());
        Assert.Equal(new[] { 10f, -7.5f, 12f }, p.grad!.data<float>().ToArray());
    }

    private static Tensor Weight(Mlp mlp, string name) =>
        ((TorchSharp.Modules.Linear)mlp.Projection(name)).weight!.detach();
}
