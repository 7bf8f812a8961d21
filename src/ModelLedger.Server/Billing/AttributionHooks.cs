using System.Collections.Concurrent;
using ModelLedger.Attribution.Influence;
using ModelLedger.Rewards.Metering;

namespace ModelLedger.Server.Billing;

/// <summary>Training attribution for billed calls: one <see cref="IndexAttributionHook"/> per served adapter that has
/// a gradient index (<c>ADAPTER/attribution/</c>), opened when the server starts (or the adapter is loaded) so a
/// broken index stops the start rather than a call. Calls to the same adapter are serialised (a hook holds one gradient model); the base and
/// adapters without an index attribute nothing. Thread-safe; disposes its hooks.</summary>
internal sealed class AttributionHooks : IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _hooks = new(StringComparer.Ordinal);
    private readonly string _baseModel, _device;

    /// <summary>One adapter's hook and the lock its calls take; a removed entry's hook is disposed and nulled under
    /// that lock, so a call that found it just before attributes nothing rather than touching a disposed model.
    /// </summary>
    private sealed class Entry(IndexAttributionHook hook)
    {
        public readonly Lock Lock = new();
        public IndexAttributionHook? Hook = hook;
    }

    private AttributionHooks(string baseModel, string device) => (_baseModel, _device) = (baseModel, device);

    public static AttributionHooks Open(ServerOptions options)
    {
        var hooks = new AttributionHooks(options.ModelDirectory, options.Device);
        try
        {
            foreach (var (name, dir) in options.Adapters) hooks.Add(name, dir);
        }
        catch
        {
            hooks.Dispose();
            throw;
        }
        return hooks;
    }

    /// <summary>Opens the adapter's index, if it has one (a broken index throws here, before the adapter serves).
    /// </summary>
    public void Add(string adapter, string directory)
    {
        if (IndexAttributionHook.Open(directory, _baseModel, _device) is not { } hook) return;
        if (!_hooks.TryAdd(adapter, new Entry(hook))) hook.Dispose();
    }

    public void Remove(string adapter)
    {
        if (!_hooks.TryRemove(adapter, out var entry)) return;
        lock (entry.Lock)
        {
            entry.Hook?.Dispose();
            entry.Hook = null;
        }
    }

    /// <summary>Whether calls through <paramref name="adapter"/> have a gradient index to attribute with.</summary>
    public bool Has(string? adapter) => adapter is not null && _hooks.ContainsKey(adapter);

    /// <summary>The attribution of one exchange through <paramref name="adapter"/>'s index, or none. Blocks on the
    /// gradient model: call it off the request thread.</summary>
    public InferenceAttribution Attribute(string? adapter, string inference, string prompt, string completion)
    {
        if (adapter is null || !_hooks.TryGetValue(adapter, out var entry)) return InferenceAttribution.None;
        lock (entry.Lock) return entry.Hook?.Attribute(inference, prompt, completion) ?? InferenceAttribution.None;
    }

    public void Dispose()
    {
        foreach (var name in _hooks.Keys) Remove(name);
    }
}
