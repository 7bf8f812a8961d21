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

/// <summary>An admitted call: its inference id (the response id's suffix) and what to do once it has generated (bill
/// its counts, attributed from the prompt and completion texts; nothing in open mode).</summary>
internal sealed class AdmittedCall(string inference, Func<Exchange, Task>? complete)
{
    public string Inference => inference;

    public Task CompleteAsync(Exchange exchange) => complete?.Invoke(exchange) ?? Task.CompletedTask;
}

/// <summary>What a call produced: token counts, and the texts attribution reads (the prompt, or a chat's last user
/// turn, or a RAG question, and the completion). <see cref="Documents"/>: a RAG answer's retrieved documents as
/// metering credits them (owners, shares, effects, support), the method that attributed them and their root.</summary>
internal sealed record Exchange(int PromptTokens, int CompletionTokens, string Prompt, string Completion,
    (IReadOnlyList<Rewards.Policy.DocumentShare> Shares, string Method, string Root)? Documents = null);
