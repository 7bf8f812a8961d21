using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;

namespace ModelLedger.Attribution.Rag;

/// <summary>
/// RAG answers for a server (<see cref="RagAsk"/>: BM25, a greedy answer, leave-one-out or surrogate ablation) with
/// the base model or one of its adapters. It holds a model of its own, loaded on the first question, as the gradient
/// index's hook does: the serving engine's copy is shared by concurrent generations and has no way to run the
/// ablation's scoring passes between them. Adapters load from their folders on first use and stay loaded; questions
/// run one at a time. Thread-safe; dispose to free the model.
/// </summary>
internal sealed class RagEngine(Func<PretrainedModel> load) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _loaded = new(StringComparer.Ordinal);   // full path -> name
    private PretrainedModel? _model;
    private AdapterSet? _adapters;
    private bool _disposed;

    /// <summary>Answers <paramref name="request"/> from <paramref name="documents"/> through the adapter in
    /// <paramref name="adapterDirectory"/> (null: the base). <paramref name="beforeGenerate"/> gets the prompt's token
    /// count before anything is generated (billing quotes there and refuses by throwing). Blocks: call it off the
    /// request thread.</summary>
    public RagResult Ask(string? adapterDirectory, DocumentSet documents, RagRequest request,
        CancellationToken cancellation, Action<int>? beforeGenerate = null, Action<string>? onText = null)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _model ??= load();
            _adapters ??= new AdapterSet(_model);
            _adapters.Activate(AdapterName(adapterDirectory));
            return new RagAsk(_model, documents).Ask(request, cancellation, beforeGenerate, onText);
        }
    }

    private string? AdapterName(string? directory)
    {
        if (directory is null) return null;
        var full = Path.GetFullPath(directory);
        if (_loaded.TryGetValue(full, out var known)) return known;
        var name = $"rag{_loaded.Count}";
        _adapters!.Load(full, name);
        _loaded[full] = name;
        return name;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _adapters?.Dispose();
            _model?.Dispose();
        }
    }
}
