using System.Runtime.CompilerServices;
using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Serving;

namespace ModelLedger.Server;

/// <summary>The serial service read at most one token per <paramref name="pace"/>, as a slow reader would: a tiny
/// model otherwise finishes before a test client can hang up. Plugged in through ServerHost's factory.</summary>
internal sealed class PacedCompletionService(ICompletionService inner, TimeSpan pace) : ICompletionService
{
    public PretrainedModel Base => inner.Base;

    public async IAsyncEnumerable<CompletionUpdate> CompleteAsync(CompletionRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in inner.CompleteAsync(request, cancellationToken))
        {
            yield return update;
            if (update is CompletionDelta && !cancellationToken.IsCancellationRequested)
            {
                try { await Task.Delay(pace, cancellationToken); }
                catch (OperationCanceledException) { }   // keep reading: the inner service reports the counts
            }
        }
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
