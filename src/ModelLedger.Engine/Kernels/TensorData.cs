using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>Raw access to a CPU tensor's storage for the C# kernels (the caller keeps the tensor alive and
/// contiguous while it uses the pointer).</summary>
internal static unsafe class TensorData
{
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>The first element of <paramref name="tensor"/>.</summary>
    public static T* Pointer<T>(Tensor tensor) where T : unmanaged => (T*)THSTensor_data(tensor.Handle);
}
