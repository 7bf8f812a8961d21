using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;

namespace ModelLedger.Tuning.Serving;

/// <summary>One completion as the serving layer asks for it: the prompt already rendered and tokenized, the adapter
/// folder to apply (a PEFT LoRA or prefix adapter; null = the base alone) and the generator's sampling options.</summary>
public sealed record CompletionRequest(int[] PromptIds, string? AdapterDirectory, GenerationOptions Options);

/// <summary>What a completion streams, in order: deltas, then exactly one <see cref="CompletionFinished"/>.</summary>
public abstract record CompletionUpdate;

/// <summary>The token just produced and the text it completed (may be empty while a character or a possible stop
/// string is pending).</summary>
public sealed record CompletionDelta(int TokenId, string Text) : CompletionUpdate;

/// <summary>The end of one completion. <paramref name="Cancelled"/>: the caller cancelled (e.g. the client
/// disconnected); the counts still say what was produced, so it can be billed.</summary>
public sealed record CompletionFinished(FinishReason Reason, int PromptTokens, int CompletionTokens, string Text,
    bool Cancelled) : CompletionUpdate;

/// <summary>
/// Generation shared by concurrent callers over one loaded base model (the weights load once). Adapters load on
/// demand from their folders and are cached. Implementations: a serial one (one request at a time) and a batching one
/// (continuous batching; rows of one forward pass may use different adapters). Thread-safe.
/// </summary>
public interface ICompletionService : IAsyncDisposable
{
    PretrainedModel Base { get; }

    IAsyncEnumerable<CompletionUpdate> CompleteAsync(CompletionRequest request,
        CancellationToken cancellationToken = default);
}
