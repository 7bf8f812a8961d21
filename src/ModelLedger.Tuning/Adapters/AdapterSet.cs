using ModelLedger.Engine.Models;

namespace ModelLedger.Tuning.Adapters;

/// <summary>
/// Adapters loaded on one base model for inference, by name: LoRA adapters share the wrapped projections, prefixes
/// are hooked in when active. <see cref="Activate"/> picks the adapter for the next calls (null: the base model).
/// Owns the prefix encoders; not thread-safe (one active adapter per model at a time).
/// </summary>
public sealed class AdapterSet(PretrainedModel model) : IDisposable
{
    private readonly Dictionary<string, PrefixEncoder> _prefixes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _lora = new(StringComparer.Ordinal);

    public IEnumerable<string> Names => _lora.Concat(_prefixes.Keys);

    /// <summary>Loads a PEFT adapter directory (LoRA or prefix tuning) under <paramref name="name"/>.</summary>
    public void Load(string directory, string name)
    {
        if (!Directory.Exists(directory)) throw new UserError("adapter directory not found", file: directory);
        if (_lora.Contains(name) || _prefixes.ContainsKey(name)) throw new UserError($"an adapter named '{name}' is already loaded");
        if (PeftPrefixFiles.IsPrefix(directory))
            _prefixes[name] = PeftPrefixFiles.Load(model.Config, directory, model.Network.Device, model.Network.DType);
        else
        {
            PeftLoraFiles.Load(model.Network, directory, name);
            _lora.Add(name);
        }
        Activate(name);
    }

    public void Activate(string? name)
    {
        if (name is not null && !_lora.Contains(name) && !_prefixes.ContainsKey(name))
            throw new UserError($"adapter '{name}' is not loaded", hint: $"loaded: {string.Join(", ", Names)}");
        LoraInjector.Activate(model.Network, name is not null && _lora.Contains(name) ? name : null);
        model.Network.Prefix = name is not null && _prefixes.TryGetValue(name, out var prefix) ? prefix.KeyValues : null;
    }

    public void Dispose()
    {
        foreach (var p in _prefixes.Values) p.Dispose();
    }
}
