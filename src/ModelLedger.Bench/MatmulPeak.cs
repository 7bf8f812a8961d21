using System.Diagnostics;
using static TorchSharp.torch;

namespace ModelLedger.Bench;

/// <summary>The machine's measured dense fp32 matmul rate, the yardstick every benchmark reports against.</summary>
public static class MatmulPeak
{
    /// <summary>GFLOP/s of an n x n fp32 matmul on the device (best of several timed runs after warm-up).</summary>
    public static double Measure(Device device, int n = 1024, int repeats = 10)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var a = randn(n, n, device: device);
        var b = randn(n, n, device: device);
        for (int i = 0; i < 3; i++) a.matmul(b).Dispose();
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            using var c = a.matmul(b);
            _ = c[0, 0].item<float>();   // forces completion on asynchronous devices
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
