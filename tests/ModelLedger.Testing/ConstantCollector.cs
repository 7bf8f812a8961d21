namespace ModelLedger.Testing;

/// <summary>A thread that runs gen-0 collections and finalizers without pause until disposed: the condition under
/// which an unreferenced TorchSharp temporary (tensor or Scalar) passed straight into a native call is freed while
/// libtorch still reads it (docs/architecture.md, "TorchSharp's temporary scalars"). Tests run a code path
/// repeatedly under it and compare with a reference computed before it started.</summary>
public sealed class ConstantCollector : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ConstantCollector() => _loop = Task.Run(() =>
    {
        while (!_stop.IsCancellationRequested) { GC.Collect(0); GC.WaitForPendingFinalizers(); }
    });

    /// <summary>Runs <paramref name="body"/> under a collector for at least <paramref name="atLeast"/> and at least
    /// <paramref name="minRuns"/> times (a count, not a rate: a loaded CI machine must not fail it); the body's
    /// asserts compare with a reference computed before.</summary>
    public static async Task Repeat(TimeSpan atLeast, int minRuns, Action body)
    {
        await using var collector = new ConstantCollector();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int runs = 0; clock.Elapsed < atLeast || runs < minRuns; runs++) body();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
    }
}
