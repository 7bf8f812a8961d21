using static TorchSharp.torch;

namespace ModelLedger.Engine.Generation;

/// <summary>The KV cache dtypes a user may name: float32, float16 (llama.cpp's default) or bfloat16.</summary>
public static class KvCacheDType
{
    public static ScalarType Parse(string name, string field) => name switch
    {
        "float32" => ScalarType.Float32,
        "float16" => ScalarType.Float16,
        "bfloat16" => ScalarType.BFloat16,
        _ => throw new UserError($"unknown KV cache dtype '{name}'", field: field,
            hint: "float32, float16 or bfloat16"),
    };
}
