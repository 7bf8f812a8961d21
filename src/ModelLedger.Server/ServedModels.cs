using System.Collections.Concurrent;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server;

/// <summary>The model names this server answers to: the base model's folder name, and <c>BASE:ADAPTER</c> for each
/// served adapter (those of the options, plus any an admin loads; the engine reads an adapter's folder on its first
/// request). Thread-safe.</summary>
internal sealed class ServedModels(string baseName, IReadOnlyDictionary<string, string> served)
{
    private readonly ConcurrentDictionary<string, string> adapters = new(served, StringComparer.Ordinal);

    public string BaseName => baseName;

    /// <summary>Serves <paramref name="directory"/> as <c>BASE:NAME</c>; false when the name is taken.</summary>
    public bool TryAdd(string name, string directory) => adapters.TryAdd(name, directory);

    /// <summary>Stops serving an adapter (calls already running finish); false when there is none by that name.
    /// </summary>
    public bool Remove(string name) => adapters.TryRemove(name, out _);

    /// <summary>Adapter name → folder, in name order.</summary>
    public IEnumerable<KeyValuePair<string, string>> Adapters => adapters.OrderBy(a => a.Key, StringComparer.Ordinal);

    public IEnumerable<string> Names => [baseName, .. adapters.Keys.Order(StringComparer.Ordinal)
        .Select(a => $"{baseName}:{a}")];

    /// <summary>The adapter name and folder for a requested model name (null adapter: the base alone); an unknown
    /// name is a 404 in OpenAI's shape.</summary>
    public (string? Adapter, string? Directory) Resolve(string? model)
    {
        if (string.IsNullOrEmpty(model)) throw ApiError.BadRequest("you must provide a model parameter", "model");
        int colon = model.IndexOf(':', StringComparison.Ordinal);
        var (requestedBase, adapter) = colon < 0 ? (model, null) : (model[..colon], model[(colon + 1)..]);
        if (requestedBase == baseName)
        {
            if (adapter is null) return (null, null);
            if (adapters.TryGetValue(adapter, out var dir)) return (adapter, dir);
        }
        throw ApiError.NotFound($"the model '{model}' does not exist; this server serves: {string.Join(", ", Names)}",
            "model_not_found");
    }
}
