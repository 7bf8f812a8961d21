namespace ModelLedger.Server;

/// <summary>Lets a call in before it generates: in open mode everyone, unbilled, under a fresh inference id.</summary>
internal class Admission
{
    public virtual Task<AdmittedCall> AdmitAsync(HttpContext http, string model, string? adapter, int promptTokens,
        int maxCompletionTokens) => Task.FromResult(new AdmittedCall(Guid.NewGuid().ToString("N"), null));
}

/// <summary>An admitted call: its inference id (the response id's suffix) and what to do with its counts once it has
/// generated (bill them; nothing in open mode).</summary>
internal sealed class AdmittedCall(string inference, Func<int[], int, Task>? complete)
{
    public string Inference => inference;

    public Task CompleteAsync(int[] promptIds, int completionTokens) =>
        complete?.Invoke(promptIds, completionTokens) ?? Task.CompletedTask;
}
