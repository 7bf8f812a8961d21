namespace ModelLedger.Engine.Quantization;

/// <summary>How a model's Linear weights are held for inference: fp32 as loaded, llama.cpp's Q8_0 (8.5 bits per
/// weight), or QLoRA's NF4 (blocks of 64, 4 bits and an fp32 absmax per block).</summary>
public enum WeightQuantization { None, Q8_0, Nf4 }

public static class WeightQuantizations
{
    /// <summary>The names users type: f32, q8_0, nf4 (llama.cpp's type names where it has one).</summary>
    public static WeightQuantization Parse(string name, string field) => name.ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" => WeightQuantization.None,
        "q8_0" => WeightQuantization.Q8_0,
        "nf4" => WeightQuantization.Nf4,
        _ => throw new UserError($"unknown weight type '{name}'", field: field, hint: "f32, q8_0 or nf4"),
    };

    public static string Name(this WeightQuantization q) =>
        q switch { WeightQuantization.Q8_0 => "q8_0", WeightQuantization.Nf4 => "nf4", _ => "f32" };
}
