using static TorchSharp.torch;

namespace ModelLedger.Tuning.Serving;

/// <summary>One adapter loaded for serving: a LoRA in a stack slot (<see cref="Slot"/> ≥ 1), or a P-Tuning v2 prefix
/// whose per-layer keys/values [1, Hkv, P, D] a row copies into its cache columns (Slot 0). Owned by the
/// <see cref="AdapterCache"/>; rows hold it between acquire and release.</summary>
internal sealed class ServedAdapter(string directory, int slot, IReadOnlyList<(Tensor Keys, Tensor Values)>? prefix)
{
    public string Directory { get; } = directory;
    public int Slot { get; } = slot;
    public IReadOnlyList<(Tensor Keys, Tensor Values)>? Prefix { get; } = prefix;
    public int PrefixLength => Prefix is null ? 0 : (int)Prefix[0].Keys.shape[2];
    public long PrefixBytes => Prefix?.Sum(kv => 2 * kv.Keys.numel() * kv.Keys.element_size()) ?? 0;

    /// <summary>Requests using it now; only an unused adapter may be evicted.</summary>
    public int Users { get; set; }
    public long LastUse { get; set; }
}
