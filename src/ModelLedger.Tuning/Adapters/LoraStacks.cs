using ModelLedger.Engine.Models.Llama;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>
/// Every projection of a network wrapped in a <see cref="MultiLoraLinear"/>, and the slots of their stacks: slot 0 is
/// the base (zeros), slots 1.. hold loaded adapters. The stacks grow (slots, rank) as adapters arrive and never
/// shrink; eviction frees a slot for reuse. <see cref="Dispose"/> puts the original projections back. Not
/// thread-safe: the scheduler thread that runs the network calls it.
/// </summary>
internal sealed class LoraStacks : IDisposable
{
    private readonly LlamaForCausalLM _network;
    private readonly MultiLoraLinear[][] _layers;   // [layer][projection], in ProjectionNames order
    private readonly Stack<int> _free = new();
    private int _slots = 1, _rank;

    public LoraRowSelection Selection { get; } = new();

    /// <summary>The rank every slot is padded to (the largest adapter loaded so far).</summary>
    public int Rank => _rank;

    public LoraStacks(LlamaForCausalLM network)
    {
        _network = network;
        var names = LlamaForCausalLM.ProjectionNames;
        _layers = new MultiLoraLinear[network.LayerCount][];
        for (int i = 0; i < network.LayerCount; i++)
        {
            _layers[i] = new MultiLoraLinear[names.Count];
            for (int p = 0; p < names.Count; p++)
            {
                MultiLoraLinear? wrapper = null;
                network.ReplaceProjection(i, names[p], current => wrapper = new MultiLoraLinear(current, Selection));
                _layers[i][p] = wrapper!;
            }
        }
    }

    /// <summary>Bytes one adapter slot takes over all projections at rank <paramref name="rank"/>.</summary>
    public long SlotBytes(int rank) => _layers.Sum(l => l.Sum(p => p.SlotBytes(rank)));

    /// <summary>The logical shapes [in, out] of projection <paramref name="name"/> in layer
    /// <paramref name="layer"/>.</summary>
    public (long In, long Out) Shape(int layer, string name)
    {
        var p = _layers[layer][IndexOf(name)];
        return (p.InFeatures, p.OutFeatures);
    }

    /// <summary>Takes a free slot, growing the stacks to hold it at rank ≥ <paramref name="rank"/>.</summary>
    public int Allocate(int rank)
    {
        int slot = _free.Count > 0 ? _free.Pop() : _slots++;
        _rank = Math.Max(_rank, rank);
        foreach (var layer in _layers)
            foreach (var p in layer) p.Reserve(_slots, _rank, _network.Device);
        return slot;
    }

    /// <summary>Writes projection weights into a slot: <paramref name="weights"/> maps (layer, projection name) to A
    /// [r, in] and B [out, r]; projections it does not name stay zero.</summary>
    public void Write(int slot, IReadOnlyDictionary<(int Layer, string Name), (Tensor A, Tensor B)> weights,
        double scaling)
    {
        var names = LlamaForCausalLM.ProjectionNames;
        for (int i = 0; i < _layers.Length; i++)
            for (int p = 0; p < names.Count; p++)
            {
                bool has = weights.TryGetValue((i, names[p]), out var w);
                _layers[i][p].Write(slot, has ? w.A : null, has ? w.B : null, scaling);
            }
    }

    /// <summary>Returns a slot for reuse; rows MUST no longer select it.</summary>
    public void Free(int slot) => _free.Push(slot);

    private static int IndexOf(string name)
    {
        int index = LlamaForCausalLM.ProjectionNames.ToList().IndexOf(name);
        return index >= 0 ? index : throw new ArgumentException($"no projection '{name}'", nameof(name));
    }

    public void Dispose()
    {
        Selection.Slots = null;
        var names = LlamaForCausalLM.ProjectionNames;
        for (int i = 0; i < _layers.Length; i++)
            for (int p = 0; p < names.Count; p++)
            {
                _layers[i][p].ReleaseStacks();
                // The wrapper owns no tensors of its own now; the base goes back to the model.
                _network.ReplaceProjection(i, names[p], current => current is MultiLoraLinear m ? m.Base : current);
            }
    }
}
