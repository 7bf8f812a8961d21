using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// How fast this machine's cores stream memory they only read: the ceiling of a memory-bound decode, to set its
/// weights GB/s against. A buffer far larger than any cache is summed with vector loads on the worker pool's threads.
/// </summary>
public static unsafe class ReadBandwidth
{
    /// <summary>GB/s, the best of a few passes over 512 MiB.</summary>
    public static double Measure(int threads)
    {
        const long bytes = 512L << 20;
        var buffer = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            NativeMemory.Fill(buffer, (nuint)bytes, 1);   // touch every page once before timing
            var pass = new Pass(buffer, (int)(bytes / sizeof(float)));
            double best = 0;
            for (int i = 0; i < 4; i++)
            {
                var watch = Stopwatch.StartNew();
                WorkerPool.Shared.Run(pass, threads);
                best = Math.Max(best, bytes / watch.Elapsed.TotalSeconds / 1e9);
            }
            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    public static int Threads => WorkerPool.Shared.Size;

    private sealed class Pass(float* data, int floats) : IParallelWork
    {
        public float Sink;

        public void Execute(int worker, int workers)
        {
            var (from, to) = WorkerPool.Share(floats, worker, workers);
            Vector256<float> a = default, b = default, c = default, d = default;
            for (int i = from; i + 32 <= to; i += 32)
            {
                a += Vector256.Load(data + i);
                b += Vector256.Load(data + i + 8);
                c += Vector256.Load(data + i + 16);
                d += Vector256.Load(data + i + 24);
            }
            Sink = Vector256.Sum(a + b + c + d);   // keeps the loads from being optimised away
        }
    }
}
