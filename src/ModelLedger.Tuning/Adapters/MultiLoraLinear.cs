using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

/// <summary>Which stacked adapter each row of the next forward pass uses: [B] int64 slot indices on the model's
/// device (slot 0 holds zeros: the base alone), or null when every row runs on the base. One selection is shared by
/// every <see cref="MultiLoraLinear"/> of a network; the scheduler that runs forward passes sets it before each
/// pass. Not thread-safe: one scheduler drives the network.</summary>
internal sealed class LoraRowSelection
{
    public Tensor? Slots { get; set; }
}

/// <summary>
/// y = base(x) + (x·A[s]ᵀ)·B[s]ᵀ per row, where s is the row's slot in <see cref="LoraRowSelection"/>: many LoRA
/// adapters served in one batch (Punica's BGMV). Few fp32 CPU rows go through one C# call that reads each row's
/// slot in place (<see cref="RowLoraDelta"/>); otherwise each row's A and B are gathered, then batched matmuls.
/// The adapters' Aᵀ [slots, in, r] and Bᵀ [slots, r, out] are stacked (transposed, so the gathered rows feed bmm
/// directly), ranks zero-padded to the largest (exact: the padding adds zero) and alpha/r folded into B. Holds no
/// "active adapter": without a selection it is the base. Owns its stacks (not registered as parameters: they are
/// not part of the model's checkpoint); the base belongs to the model.
/// </summary>
internal sealed class MultiLoraLinear : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> _base;
    private readonly LoraRowSelection _selection;
    private Tensor? _a, _b;   // Aᵀ [slots, in, r], Bᵀ [slots, r, out], fp32

    public Module<Tensor, Tensor> Base => _base;
    public long InFeatures { get; }
    public long OutFeatures { get; }

    public MultiLoraLinear(Module<Tensor, Tensor> baseLayer, LoraRowSelection selection) : base("MultiLoraLinear")
    {
        (_base, _selection) = (baseLayer, selection);
        (InFeatures, OutFeatures) = LinearShape.Of(baseLayer);
        register_module("base_layer", baseLayer);
    }

    /// <summary>Bytes one slot of rank <paramref name="rank"/> takes here (fp32 A and B).</summary>
    public long SlotBytes(int rank) => 4L * rank * (InFeatures + OutFeatures);

    /// <summary>Grows the stacks to at least <paramref name="slots"/> slots of rank <paramref name="rank"/>, keeping
    /// what they hold (new slots and new rank columns are zero).</summary>
    public void Reserve(int slots, int rank, Device device)
    {
        if (_a is not null && _a.shape[0] >= slots && _a.shape[2] >= rank) return;
        long oldSlots = _a?.shape[0] ?? 0, oldRank = _a?.shape[2] ?? 0;
        slots = (int)Math.Max(slots, oldSlots);
        rank = (int)Math.Max(rank, oldRank);
        using var scope = NewDisposeScope();   // the narrow views stay referenced while libtorch copies into them
        var a = zeros([slots, InFeatures, rank], dtype: ScalarType.Float32, device: device);
        var b = zeros([slots, rank, OutFeatures], dtype: ScalarType.Float32, device: device);
        if (_a is not null && _b is not null)
        {
            a.narrow(0, 0, oldSlots).narrow(2, 0, oldRank).copy_(_a);
            b.narrow(0, 0, oldSlots).narrow(1, 0, oldRank).copy_(_b);
            _a.Dispose();
            _b.Dispose();
        }
        (_a, _b) = (a.DetachFromDisposeScope(), b.DetachFromDisposeScope());
    }

    /// <summary>Puts an adapter into <paramref name="slot"/>: A [r, in], B [out, r] and its scaling; null A and B
    /// (a projection the adapter does not target) leave the slot zero. The stacks must be reserved.</summary>
    public void Write(int slot, Tensor? a, Tensor? b, double scaling)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();   // the slot views and the transposes stay referenced during the copies
        _a!.select(0, slot).zero_();
        _b!.select(0, slot).zero_();
        if (a is null || b is null) return;
        long rank = a.shape[0];
        _a.select(0, slot).narrow(1, 0, rank).copy_(a.t());
        var scaled = b.to(ScalarType.Float32).Times(scaling);
        _b.select(0, slot).narrow(0, 0, rank).copy_(scaled.t());
    }

    public override Tensor forward(Tensor x)
    {
        var y = _base.Project(x);
        var slots = _selection.Slots;
        if (slots is null || _a is null || _b is null) return y;
        if (RowLoraDelta.Applies(x, y, slots, _a, _b))
        {
            // A decode step or short prefill on the CPU: one C# call reads each row's slot in place.
            RowLoraDelta.AddInPlace(x, y, slots, _a, _b);
            return y;
        }
        var a = _a.index_select(0, slots);   // [B, in, r]
        var b = _b.index_select(0, slots);   // [B, r, out]
        // The delta in fp32 (as LoraLinear computes it), added in place: y is this call's own output.
        return y.PlusInPlace(x.to(ScalarType.Float32).bmm(a).bmm(b).to(y.dtype));
    }

    /// <summary>Frees the stacks; the base stays with the model.</summary>
    public void ReleaseStacks()
    {
        _a?.Dispose();
        _b?.Dispose();
        (_a, _b) = (null, null);
    }
}
