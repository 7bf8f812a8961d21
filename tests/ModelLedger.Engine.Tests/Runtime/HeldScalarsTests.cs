using System.Diagnostics;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

public sealed class HeldScalarsTests
{
    private static float[] Values(Tensor t) => t.to(ScalarType.Float32).data<float>().ToArray();

    [Fact]
    public void EachHelper_ComputesWhatTheOperatorWould()
    {
        // Expected values worked out by hand from x = [1, -2, 4].
        using var x = tensor(new float[] { 1, -2, 4 });
        Assert.Equal([2, -4, 8], Values(x.Plus(x)));
        Assert.Equal([1.5f, -1.5f, 4.5f], Values(x.Plus(0.5)));
        Assert.Equal(ScalarType.Int64, tensor(new long[] { 1, 2 }).Plus(3L).dtype);   // an integer stays an integer
        Assert.Equal([3, -6, 12], Values(x.Times(3)));
        Assert.Equal([0.5f, -1, 2], Values(x.Over(2)));
        Assert.Equal([1, 4, 16], Values(x.Power(2)));
        Assert.Equal([1, 9, 4], Values(x.FillWhere(x.Below(0), 9)));
        Assert.Equal([false, false, true], x.AtLeast(4).data<bool>().ToArray());
        Assert.Equal([1.25f, -1.75f, 4.25f], Values(x.clone().PlusInPlace(0.25)));
        Assert.Equal([3, -6, 12], Values(x.clone().PlusInPlace(x, 2)));
        Assert.Equal([4, 4, 40], Values(x.clone().TimesInPlace(2).PlusProductInPlace(x, x, 2)));   // 2x + 2x²
    }

    [Fact]
    public void HelpersAddedForAttribution_ComputeWhatTheOperatorWould()
    {
        // Expected values worked out by hand from x = [1, -2, 4].
        using var x = tensor(new float[] { 1, -2, 4 });
        Assert.Equal([0, 0, 0], Values(x.Minus(x)));
        Assert.Equal([0.5f, -2.5f, 3.5f], Values(x.Minus(0.5)));
        Assert.Equal([1, 0, 4], Values(x.ClampMin(0)));
        Assert.Equal([1, -1, 2], Values(x.Clamp(-1, 2)));
        // index [0, 2, 0] adds x[0] and x[2] into slot 0 and x[1] into slot 2: [1 + 4, 0, -2].
        using var index = tensor(new long[] { 0, 2, 0 });
        Assert.Equal([5, 0, -2], Values(zeros(3).IndexAddInPlace(0, index, x)));
    }

    /// <summary>The race these helpers close: another thread's GC frees an unreferenced temporary Scalar while
    /// libtorch reads it. With <c>x + x</c> and <c>x + 1e-5</c> this loop failed tens of times in 4 s on this machine
    /// (TorchSharp 0.107, "Expected false to be true" from Scalar::toFloat); held, never.</summary>
    [Fact]
    public async Task UnderConstantGarbageCollection_NoScalarIsFreedEarly()
    {
        using var x = ones(8);
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        });
        int failures = 0, runs = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            runs++;
            try
            {
                using var sum = x.Plus(x);
                using var shifted = x.Plus(1e-5);
                using var scaled = x.Times(0.5);
                if (runs % 256 == 0 && (sum.sum().item<float>() != 16 || scaled.sum().item<float>() != 4)) failures++;
            }
            catch (System.Runtime.InteropServices.ExternalException) { failures++; }
        }
        stop.Cancel();
        await collector;
        Assert.True(runs > 1000, $"only {runs} runs");
        Assert.Equal(0, failures);
    }
}
