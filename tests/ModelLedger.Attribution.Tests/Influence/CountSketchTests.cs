using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

public sealed class CountSketchTests
{
    [Fact]
    public void Project_PreservesInnerProducts_WithinTheJlBound()
    {
        // CountSketch's inner-product estimate has variance ≤ (‖x‖²‖y‖² + ⟨x,y⟩²)/k ≤ 2‖x‖²‖y‖²/k, so its standard
        // deviation is ≤ √(2/k)·‖x‖‖y‖ = 0.0625·‖x‖‖y‖ at k = 512; ε = 0.25 is four deviations (Chebyshev: each pair
        // fails with probability ≤ 1/16, Gaussian-like tails make it ≈ 1e-4). The seeded case is fixed, so this is
        // deterministic; correlated pairs make ⟨x,y⟩ non-trivial.
        using var sketch = new CountSketch(20_000, 512, seed: 7);
        using var generator = new TorchSharp.torch.Generator(11);
        for (int pair = 0; pair < 20; pair++)
        {
            using var scope = NewDisposeScope();
            var x = randn(20_000, generator: generator);
            var y = 0.5f * x + randn(20_000, generator: generator);
            double exact = x.dot(y).item<float>();
            double projected = sketch.Project(x).dot(sketch.Project(y)).item<float>();
            double bound = 0.25 * x.norm().item<float>() * y.norm().item<float>();
            Assert.True(Math.Abs(projected - exact) <= bound, $"pair {pair}: exact {exact:F1}, projected {projected:F1}, bound {bound:F1}");
        }
    }

    [Fact]
    public void Project_IsTheSameMap_ForTheSameSeed_AndRowsMatchVectors()
    {
        using var a = new CountSketch(1000, 16, seed: 3);
        using var b = new CountSketch(1000, 16, seed: 3);
        using var c = new CountSketch(1000, 16, seed: 4);
        using var x = rand(2, 1000);
        Assert.True(a.Project(x).allclose(b.Project(x)));
        Assert.False(a.Project(x).allclose(c.Project(x)));
        Assert.True(a.Project(x)[1].allclose(a.Project(x[1]), rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Project_OfABasisVector_IsOneSignedBucket()
    {
        // e_i lands in exactly one bucket with weight ±1: the definition of CountSketch.
        using var sketch = new CountSketch(50, 8, seed: 1);
        for (int i = 0; i < 50; i++)
        {
            using var e = zeros(50);
            e[i] = 1;
            var p = sketch.Project(e).data<float>().ToArray();
            Assert.Equal(1, p.Count(v => v != 0));
            Assert.Equal(1f, Math.Abs(p.Single(v => v != 0)));
        }
    }
}
