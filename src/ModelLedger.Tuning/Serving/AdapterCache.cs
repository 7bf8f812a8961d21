using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Tuning.Adapters;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Serving;

/// <summary>
/// Adapters loaded on demand from their folders, least recently used first out: the LoRA stack slots (every slot
/// padded to the largest rank) plus the prefixes' key/values MUST stay within the byte budget, so loading one may
/// evict adapters no running request uses; when those in use leave no room, the caller waits for a request to end.
/// Not thread-safe: the scheduler thread calls it.
/// </summary>
internal sealed class AdapterCache(PretrainedModel model, LoraStacks stacks, long budgetBytes) : IDisposable
{
    private readonly Dictionary<string, ServedAdapter> _loaded = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();   // the scheduler changes the cache; diagnostics read it from elsewhere
    private long _clock;
    private int _evictions;

    public int Evictions { get { lock (_lock) return _evictions; } }
    public IReadOnlyList<string> Loaded { get { lock (_lock) return _loaded.Keys.ToList(); } }

    private int LoraCount => _loaded.Values.Count(a => a.Slot > 0);
    private long PrefixBytes => _loaded.Values.Sum(a => a.PrefixBytes);

    /// <summary>Bytes the loaded adapters take: LoRA slots at the padded rank, prefixes' key/values.</summary>
    public long UsedBytes => LoraCount * stacks.SlotBytes(stacks.Rank) + PrefixBytes;

    /// <summary>The adapter in <paramref name="directory"/>, loaded if needed, counted as used until
    /// <see cref="Release"/>; null when it does not fit now (adapters in use hold the budget). Throws
    /// <see cref="UserError"/> for an invalid adapter or one larger than the whole budget.</summary>
    public ServedAdapter? TryAcquire(string directory)
    {
        lock (_lock) return Acquire(directory);
    }

    private ServedAdapter? Acquire(string directory)
    {
        var key = Path.GetFullPath(directory);
        if (!_loaded.TryGetValue(key, out var adapter))
        {
            adapter = PeftPrefixFiles.IsPrefix(key) ? TryLoadPrefix(key) : TryLoadLora(key);
            if (adapter is null) return null;
            _loaded[key] = adapter;
        }
        adapter.Users++;
        adapter.LastUse = ++_clock;
        return adapter;
    }

    public void Release(ServedAdapter adapter)
    {
        lock (_lock) adapter.Users--;
    }

    private ServedAdapter? TryLoadLora(string directory)
    {
        var settings = PeftLoraFiles.ReadSettings(directory);
        var weights = ReadLora(directory, settings);
        try
        {
            int rank = Math.Max(stacks.Rank, settings.Rank);
            if (!MakeRoom(() => (LoraCount + 1) * stacks.SlotBytes(rank) + PrefixBytes, directory)) return null;
            int slot = stacks.Allocate(settings.Rank);
            double scaling = settings.RsLora
                ? settings.Alpha / Math.Sqrt(settings.Rank) : settings.Alpha / settings.Rank;
            stacks.Write(slot, weights, scaling);
            return new ServedAdapter(directory, slot, null);
        }
        finally
        {
            foreach (var (a, b) in weights.Values) { a.Dispose(); b.Dispose(); }
        }
    }

    /// <summary>Every targeted projection's A [r, in] and B [out, r], checked against the base's shapes.</summary>
    private Dictionary<(int Layer, string Name), (Tensor A, Tensor B)> ReadLora(string directory, LoraSettings settings)
    {
        var stored = new PeftLoraFiles.StoredWeights(directory);
        var weights = new Dictionary<(int, string), (Tensor, Tensor)>();
        try
        {
            for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
                foreach (var name in settings.Targets)
                {
                    var (inFeatures, outFeatures) = stacks.Shape(layer, name);
                    var path = LlamaForCausalLM.ProjectionPath(layer, name);
                    using var a = stored.Read(path, "lora_A", [settings.Rank, inFeatures]);
                    using var b = stored.Read(path, "lora_B", [outFeatures, settings.Rank]);
                    weights[(layer, name)] = (a.to(ScalarType.Float32, model.Network.Device),
                        b.to(ScalarType.Float32, model.Network.Device));
                }
            stored.CheckAllUsed();
            return weights;
        }
        catch
        {
            foreach (var (a, b) in weights.Values) { a.Dispose(); b.Dispose(); }
            throw;
        }
    }

    private ServedAdapter? TryLoadPrefix(string directory)
    {
        using var encoder = PeftPrefixFiles.Load(model.Config, directory, model.Network.Device, model.Network.DType);
        List<(Tensor, Tensor)> prefix;
        // The view/permute temporaries stay referenced while libtorch reads them (docs/architecture.md); the
        // contiguous copies leave the scope with the adapter.
        using (NewDisposeScope())
        {
            static Tensor Kept(Tensor t) => t.contiguous().DetachFromDisposeScope();
            prefix = encoder.KeyValues(1).Select(kv => (Kept(kv.Keys), Kept(kv.Values))).ToList();
        }
        var adapter = new ServedAdapter(directory, 0, prefix);
        if (MakeRoom(() => LoraCount * stacks.SlotBytes(stacks.Rank) + PrefixBytes + adapter.PrefixBytes, directory))
            return adapter;
        Dispose(adapter);
        return null;
    }

    /// <summary>Evicts unused adapters, least recently used first, until <paramref name="need"/> fits the budget.
    /// False when adapters in use leave no room; an error when even an empty cache could not hold it.</summary>
    private bool MakeRoom(Func<long> need, string directory)
    {
        while (need() > budgetBytes)
        {
            var victim = _loaded.Values.Where(a => a.Users == 0).MinBy(a => a.LastUse);
            if (victim is null) break;
            Evict(victim);
        }
        if (need() <= budgetBytes) return true;
        if (_loaded.Count == 0)
            throw new UserError($"the adapter needs {need()} bytes but the adapter memory budget is {budgetBytes}",
                file: directory, hint: "raise the adapter memory budget");
        return false;
    }

    private void Evict(ServedAdapter adapter)
    {
        _loaded.Remove(adapter.Directory);
        _evictions++;
        Dispose(adapter);
    }

    private void Dispose(ServedAdapter adapter)
    {
        if (adapter.Slot > 0) stacks.Free(adapter.Slot);
        foreach (var (k, v) in adapter.Prefix ?? []) { k.Dispose(); v.Dispose(); }
    }

    public void Dispose()
    {
        lock (_lock) DisposeAll();
    }

    private void DisposeAll()
    {
        foreach (var adapter in _loaded.Values.ToList()) Dispose(adapter);
        _loaded.Clear();
    }
}
