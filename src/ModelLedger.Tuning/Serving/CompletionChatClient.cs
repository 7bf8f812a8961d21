using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using ModelLedger.Engine.Generation;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;
using AiRole = Microsoft.Extensions.AI.ChatRole;
using Turn = ModelLedger.Data.Chat.ChatMessage;
using TurnRole = ModelLedger.Data.Chat.ChatRole;

namespace ModelLedger.Tuning.Serving;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over an <see cref="ICompletionService"/>, so .NET code uses a
/// ModelLedger model without HTTP. Prompts and stop rules come from the same <see cref="ServingPrompts"/> the server
/// uses. <see cref="ChatOptions.ModelId"/> picks <c>BASE</c> or <c>BASE:ADAPTER</c> among <c>adapters</c>
/// (name → folder); unset sampling options take the model's generation_config. Thread-safe as the service is; does not
/// own the service (dispose that yourself).
/// </summary>
public sealed class CompletionChatClient(ICompletionService service, ServingPrompts prompts, string modelName,
    IReadOnlyDictionary<string, string>? adapters = null) : IChatClient
{
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var (request, model) = Plan(messages, options);
        var id = Guid.NewGuid().ToString("N");
        await foreach (var update in service.CompleteAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (update is not CompletionFinished finished) continue;
            cancellationToken.ThrowIfCancellationRequested();
            return new ChatResponse(new AiMessage(AiRole.Assistant, finished.Text))
            {
                ResponseId = id, ModelId = model, FinishReason = Reason(finished.Reason), Usage = Usage(finished),
            };
        }
        throw new InvalidOperationException("the completion service ended without a CompletionFinished");
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (request, model) = Plan(messages, options);
        var id = Guid.NewGuid().ToString("N");
        await foreach (var update in service.CompleteAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (update is CompletionDelta delta)
            {
                if (delta.Text.Length > 0)
                    yield return new ChatResponseUpdate(AiRole.Assistant, delta.Text) { ResponseId = id, ModelId = model };
                continue;
            }
            var finished = (CompletionFinished)update;
            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(AiRole.Assistant, [new UsageContent(Usage(finished))])
            {
                ResponseId = id, ModelId = model, FinishReason = Reason(finished.Reason),
            };
        }
    }

    private (CompletionRequest Request, string Model) Plan(IEnumerable<AiMessage> messages, ChatOptions? options)
    {
        var model = options?.ModelId ?? modelName;
        string? directory = null;
        if (model != modelName)
        {
            var prefix = modelName + ":";
            if (!model.StartsWith(prefix, StringComparison.Ordinal) || adapters is null
                || !adapters.TryGetValue(model[prefix.Length..], out directory))
                throw new UserError($"unknown model '{model}'", field: "ModelId",
                    hint: $"served: {string.Join(", ", [modelName, .. (adapters?.Keys ?? []).Select(a => prefix + a)])}");
        }
        var d = prompts.Defaults;
        var generation = prompts.ForChat(d with
        {
            MaxNewTokens = options?.MaxOutputTokens ?? d.MaxNewTokens,
            Temperature = options?.Temperature ?? d.Temperature,
            TopP = options?.TopP ?? d.TopP,
            TopK = options?.TopK ?? d.TopK,
            Seed = options?.Seed ?? d.Seed,
            StopStrings = [.. options?.StopSequences ?? []],
        });
        var problems = generation.Problems();
        if (problems.Count > 0) throw new UserError(string.Join("; ", problems), field: "ChatOptions");
        return (new CompletionRequest(prompts.Chat([.. messages.Select(ToTurn)]), directory, generation), model);
    }

    private static Turn ToTurn(AiMessage m)
    {
        var role = m.Role == AiRole.System ? TurnRole.System : m.Role == AiRole.User ? TurnRole.User
            : m.Role == AiRole.Assistant ? TurnRole.Assistant
            : throw new UserError($"role '{m.Role}' is not supported (system, user, assistant)", field: "messages");
        return new Turn(role, m.Text);
    }

    private static ChatFinishReason Reason(FinishReason reason) =>
        reason == FinishReason.Stop ? ChatFinishReason.Stop : ChatFinishReason.Length;

    private static UsageDetails Usage(CompletionFinished f) => new()
    {
        InputTokenCount = f.PromptTokens, OutputTokenCount = f.CompletionTokens,
        TotalTokenCount = f.PromptTokens + f.CompletionTokens,
    };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("modelledger", null, modelName)
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(service) ? service : null;

    /// <summary>Nothing to release: the service belongs to whoever made it.</summary>
    public void Dispose() { }
}
