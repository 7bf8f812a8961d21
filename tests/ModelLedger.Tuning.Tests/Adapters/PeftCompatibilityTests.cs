using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

public sealed class PeftCompatibilityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>An adapter laid out the way PEFT writes one (its config fields, its tensor names, only q/v wrapped).</summary>
    private string PeftWrittenAdapter(bool adapterNameInKeys)
    {
        var dir = _dir.Sub($"peft-{adapterNameInKeys}");
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), """
            {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "TinyStories-656K", "bias": "none",
             "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true, "layer_replication": null,
             "layers_pattern": null, "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 16, "lora_dropout": 0.05,
             "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA", "r": 4,
             "rank_pattern": {}, "revision": null, "target_modules": ["v_proj", "q_proj"], "task_type": "CAUSAL_LM",
             "use_dora": false, "use_rslora": false}
            """);
        manual_seed(9);
        var tensors = new List<(string, Tensor)>();
        var infix = adapterNameInKeys ? ".default" : "";
        for (int layer = 0; layer < 2; layer++)
        {
            tensors.Add(($"base_model.model.model.layers.{layer}.self_attn.q_proj.lora_A{infix}.weight", randn(4, 128) * 0.1));
            tensors.Add(($"base_model.model.model.layers.{layer}.self_attn.q_proj.lora_B{infix}.weight", randn(128, 4) * 0.1));
            tensors.Add(($"base_model.model.model.layers.{layer}.self_attn.v_proj.lora_A{infix}.weight", randn(4, 128) * 0.1));
            tensors.Add(($"base_model.model.model.layers.{layer}.self_attn.v_proj.lora_B{infix}.weight", randn(64, 4) * 0.1));
        }
        SafetensorsWriter.Write(Path.Combine(dir, "adapter_model.safetensors"), tensors);
        return dir;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AdapterWrittenByPeft_LoadsAndChangesTheOutput(bool adapterNameInKeys)
    {
        var dir = PeftWrittenAdapter(adapterNameInKeys);
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var adapters = new AdapterSet(model);
        var ids = tensor(new long[] { 1, 147, 201 }, [1, 3]);
        Tensor before;
        using (inference_mode()) before = model.Network.forward(ids);
        adapters.Load(dir, "peft");
        Assert.Equal(4, LoraInjector.Find(model.Network).Count);   // q and v in two layers
        Assert.Equal(4.0, LoraInjector.Find(model.Network)[0].Layer.Adapters["peft"].Scaling);
        using (inference_mode()) Assert.False(model.Network.forward(ids).allclose(before, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void AdapterForAnotherBase_IsRefusedNamingTheTensor()
    {
        var dir = PeftWrittenAdapter(false);
        using var model = PretrainedModel.Load(TestPaths.Stories260K);
        using var adapters = new AdapterSet(model);
        var error = Assert.Throws<UserError>(() => adapters.Load(dir, "x"));
        Assert.Contains("q_proj.lora_A.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("different base model", error.Hint!, StringComparison.Ordinal);
    }
}
