using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// A quantized weight's codes and one fp32 scale per block, in pinned arrays so that the decode kernels can hold raw
/// pointers while the object is referenced (<see cref="Q8Weights"/>, <see cref="Nf4Weights"/>).
/// </summary>
internal abstract unsafe class PinnedBlocks<TCode>(TCode[] codes, float[] scales) where TCode : unmanaged
{
    protected readonly TCode[] CodeArray = codes;
    protected readonly float[] ScaleArray = scales;

    public TCode* Codes => (TCode*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(CodeArray));
    public float* Scales => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(ScaleArray));
    public long Bytes => CodeArray.LongLength * sizeof(TCode) + ScaleArray.LongLength * sizeof(float);
}
