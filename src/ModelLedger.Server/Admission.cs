using ModelLedger.Server.Keys;

namespace ModelLedger.Server;

/// <summary>Lets a call in before it generates: in open mode everyone, unbilled, under a fresh inference id.
/// <see cref="Billing.BilledAdmission"/> adds keys, rate limits and billing.</summary>
internal class Admission
{
    /// <summary>The key a request carries (null in open mode); refuses before the body is read.</summary>
    public virtual ApiKey? Authenticate(HttpContext http) => null;

    public virtual Task<AdmittedCall> AdmitAsync(ApiKey? caller, HttpContext http, string model, string? adapter,
        int promptTokens, int maxCompletionTokens) =>
        Task.FromResult(new AdmittedCall(Guid.NewGuid().ToString("N"), null));
}

/// <summary>An admitted call: its inference id (the response id's suffix) and what to do with its counts once it has
/// generated (bill them; nothing in open mode).</summary>
internal sealed class AdmittedCall(string inference, Func<int, int, Task>? complete)
{
    public string Inference => inference;

    public Task CompleteAsync(int promptTokens, int completionTokens) =>
        complete?.Invoke(promptTokens, completionTokens) ?? Task.CompletedTask;
}
