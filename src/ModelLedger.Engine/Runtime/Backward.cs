using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

/// <summary>
/// Back-propagation that reports a failure inside a custom function's backward as an exception of the caller. Those
/// backwards run as callbacks of libtorch's native autograd engine, and a managed exception crossing it ends the
/// process (FATAL ERROR, no checkpoint): an out-of-memory in a checkpointed layer's recompute, the step's peak, did so.
/// A guarded backward records the exception and hands libtorch no gradients; <see cref="Run"/> throws it once
/// libtorch returns.
/// </summary>
public static class Backward
{
    // CPU backward runs on the calling thread; CUDA's on the engine's device threads, which no caller owns
    [ThreadStatic] private static ExceptionDispatchInfo? t_failure;
    [ThreadStatic] private static int t_running;
    private static ExceptionDispatchInfo? s_failure;

    /// <summary><paramref name="loss"/>.backward(), then the first exception a guarded backward recorded.</summary>
    public static void Run(Tensor loss) => Run(() => loss.backward());

    /// <summary>autograd.backward for a nested back-propagation (a checkpoint's recompute).</summary>
    internal static void Run(Tensor[] outputs, Tensor[] gradients) =>
        Run(() => autograd.backward(outputs, gradients));

    private static void Run(Action backward)
    {
        t_running++;
        try { backward(); }
        finally { t_running--; }
        var failure = t_failure ?? Interlocked.Exchange(ref s_failure, null);
        t_failure = null;
        failure?.Throw();
    }

    /// <summary>A custom function's backward body; on an exception, recorded for <see cref="Run"/>, no gradient for
    /// any of its <paramref name="inputs"/> (libtorch reads none as zero).</summary>
    internal static List<Tensor> Guard(int inputs, Func<List<Tensor>> backward)
    {
        try
        {
            return backward();
        }
        catch (Exception e)
        {
            var failure = ExceptionDispatchInfo.Capture(e);
            if (t_running > 0) t_failure ??= failure;
            else Interlocked.CompareExchange(ref s_failure, failure, null);
            return Enumerable.Repeat<Tensor>(null!, inputs).ToList();
        }
    }
}
