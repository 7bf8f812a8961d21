using ModelLedger.Attribution.Influence;
using ModelLedger.Rewards.Metering;

namespace ModelLedger.Server.Billing;

/// <summary>Training attribution for billed calls: one <see cref="IndexAttributionHook"/> per served adapter that has
/// a gradient index (<c>ADAPTER/attribution/</c>), opened when the server starts so a broken index stops the start
/// rather than a call. Calls to the same adapter are serialised (a hook holds one gradient model); the base and
/// adapters without an index attribute nothing. Thread-safe; disposes its hooks.</summary>
internal sealed class AttributionHooks : IDisposable
{
    private readonly Dictionary<string, (IndexAttributionHook Hook, Lock Lock)> _hooks;

    private AttributionHooks(Dictionary<string, (IndexAttributionHook, Lock)> hooks) => _hooks = hooks;

    public static AttributionHooks Open(ServerOptions options)
    {
        var hooks = new Dictionary<string, (IndexAttributionHook, Lock)>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, dir) in options.Adapters)
                if (IndexAttributionHook.Open(dir, options.ModelDirectory, options.Device) is { } hook)
                    hooks[name] = (hook, new Lock());
        }
        catch
        {
            foreach (var (hook, _) in hooks.Values) hook.Dispose();
            throw;
        }
        return new(hooks);
    }

    /// <summary>Adapters whose calls are attributed.</summary>
    public IEnumerable<string> Indexed => _hooks.Keys;

    /// <summary>The attribution of one exchange through <paramref name="adapter"/>'s index, or none. Blocks on the
    /// gradient model: call it off the request thread.</summary>
    public InferenceAttribution Attribute(string? adapter, string inference, string prompt, string completion)
    {
        if (adapter is null || !_hooks.TryGetValue(adapter, out var entry)) return InferenceAttribution.None;
        lock (entry.Lock) return entry.Hook.Attribute(inference, prompt, completion);
    }

    public void Dispose()
    {
        foreach (var (hook, _) in _hooks.Values) hook.Dispose();
    }
}
