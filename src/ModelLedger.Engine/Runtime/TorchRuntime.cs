using TorchSharp;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

public enum ComputeDevice { Cpu, Cuda }

public enum ModelDType { Float32, BFloat16, Float16 }

/// <summary>Parses the device and dtype names users type, once, at the edge.</summary>
public static class TorchRuntime
{
    public static ComputeDevice ParseDevice(string text) => text.Trim().ToLowerInvariant() switch
    {
        "cpu" => ComputeDevice.Cpu,
        "cuda" or "gpu" => ComputeDevice.Cuda,
        _ => throw new UserError($"unknown device '{text}'", field: "device", hint: "use cpu or cuda"),
    };

    public static ModelDType ParseDType(string text) => text.Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" => ModelDType.Float32,
        "bfloat16" or "bf16" => ModelDType.BFloat16,
        "float16" or "fp16" or "f16" or "half" => ModelDType.Float16,
        _ => throw new UserError($"unknown dtype '{text}'", field: "dtype", hint: "use float32, bfloat16 or float16"),
    };

    public static ScalarType ToScalarType(this ModelDType dtype) => dtype switch
    {
        ModelDType.BFloat16 => ScalarType.BFloat16,
        ModelDType.Float16 => ScalarType.Float16,
        _ => ScalarType.Float32,
    };

    /// <summary>The torch device; fails with a user error when CUDA is asked for and this build or machine lacks it.</summary>
    public static Device ToTorchDevice(this ComputeDevice device)
    {
        if (device == ComputeDevice.Cpu) return CPU;
        if (!cuda.is_available())
            throw new UserError("CUDA was requested but no CUDA device or CUDA build of libtorch is available",
                field: "device", hint: "use --device cpu, or reference TorchSharp-cuda-linux instead of libtorch-cpu-linux-x64");
        return CUDA;
    }

    public static int ElementSize(this ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}
