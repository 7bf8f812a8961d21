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

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
    }
}
