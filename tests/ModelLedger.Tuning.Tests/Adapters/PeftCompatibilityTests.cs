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
    private string PeftWrittenAdapter(bool adapterNameInKeys, int seed = 9)
    {
        var dir = _dir.Sub($"peft-{adapterNameInKeys}-{seed}");
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), """
            {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "TinyStories-656K", "bias": "none",
             "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true, "layer_replication": null,
             "layers_pattern": null, "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 16, "lora_dropout": 0.05,
             "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA", "r": 4,
             "rank_pattern": {}, "revision": null, "target_modules": ["v_proj", "q_proj"], "task_type": "CAUSAL_LM",
             "use_dora": false, "use_rslora": false}
            """);
        manual_seed(seed);
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

    /// <summary>The reference for a LoRA adapter, independent of our LoRA code: W' = W + (alpha/r)·B·A added to the
    /// base weights in double precision, read from the adapter files, then the reference forward.</summary>
    private static ReferenceLlama BasePlusDelta(string adapter, double scaling)
    {
        var reference = new ReferenceLlama(TestPaths.TinyStories);
        var lora = ReferenceLlama.ReadSafetensors(Path.Combine(adapter, "adapter_model.safetensors"));
        foreach (var aName in lora.Keys.Where(k => k.Contains(".lora_A.", StringComparison.Ordinal)))
        {
            // base_model.model.<module>.lora_A.weight holds A of <module>.weight
            int end = aName.IndexOf(".lora_A", StringComparison.Ordinal);
            var target = aName["base_model.model.".Length..end] + ".weight";
            var a = lora[aName];
            var b = lora[aName.Replace("lora_A", "lora_B", StringComparison.Ordinal)];
            var w = reference.Weights[target];
            int rank = 4, inputs = a.Length / rank, outputs = b.Length / rank;
            var updated = (double[])w.Clone();
            for (int o = 0; o < outputs; o++)
                for (int i = 0; i < inputs; i++)
                    for (int r = 0; r < rank; r++)
                        updated[o * inputs + i] += scaling * b[o * rank + r] * a[r * inputs + i];   // W + s·B·A
            reference.Weights[target] = updated;
        }
        return reference;
    }

    private static double MaxDifference(double[][] expected, PretrainedModel model, int[] ids)
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var logits = model.Network.forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]))[0];
        return ReferenceLlama.MaxAbsDifference(expected, logits.data<float>().ToArray());
    }

    [Fact]
    public void HandWrittenLoras_GiveBasePlusDeltaLogits_AndTheActiveOneIsTheOneSeen()
    {
        // PEFT's scaling is lora_alpha / r = 16 / 4 for these adapters.
        string first = PeftWrittenAdapter(false, seed: 9), second = PeftWrittenAdapter(true, seed: 21);
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var ids = model.Tokenizer.Encode(ReferenceLlama.StoryText, addSpecialTokens: true);
        double[][] baseLogits = new ReferenceLlama(TestPaths.TinyStories).Logits(ids),
            firstLogits = BasePlusDelta(first, 4).Logits(ids), secondLogits = BasePlusDelta(second, 4).Logits(ids);
        using var adapters = new AdapterSet(model);
        adapters.Load(first, "first");
        adapters.Load(second, "second");
        Assert.InRange(MaxDifference(secondLogits, model, ids), 0, 1e-4);   // Load activates the adapter just loaded
        adapters.Activate("first");
        Assert.InRange(MaxDifference(firstLogits, model, ids), 0, 1e-4);
        Assert.True(MaxDifference(secondLogits, model, ids) > 1e-2);        // the two adapters are told apart
        adapters.Activate(null);
        Assert.InRange(MaxDifference(baseLogits, model, ids), 0, 1e-4);
    }

    [Fact]
    public void MergedExport_GivesBasePlusDeltaLogits()
    {
        var adapter = PeftWrittenAdapter(false);
        var merged = Export.ExportJob.Run(TestPaths.TinyStories, adapter, _dir.Sub("merged"), Export.ExportFormat.Hf,
            Export.GgmlType.F32, _ => { });
        using var model = PretrainedModel.Load(merged);
        var ids = model.Tokenizer.Encode(ReferenceLlama.StoryText, addSpecialTokens: true);
        Assert.InRange(MaxDifference(BasePlusDelta(adapter, 4).Logits(ids), model, ids), 0, 1e-4);
    }

    [Fact]
    public void HandWrittenPrefix_GivesTheReferenceLogitsWithExtraKeysAndValues()
    {
        // PEFT's PREFIX_TUNING file: prompt_embeddings [P, layers·2·kvHeads·headDim], read as [P, layer, key|value,
        // kv head, dim]; the keys are not rotated and every token attends to all P of them.
        var dir = _dir.Sub("prefix");
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), """
            {"peft_type": "PREFIX_TUNING", "task_type": "CAUSAL_LM", "num_virtual_tokens": 3, "token_dim": 64,
             "num_layers": 2, "num_attention_heads": 4, "encoder_hidden_size": 128, "prefix_projection": false}
            """);
        manual_seed(4);
        using (var table = randn(3, 2 * 2 * 64))
            SafetensorsWriter.Write(Path.Combine(dir, "adapter_model.safetensors"), [("prompt_embeddings", table)]);
        var rows = ReferenceLlama.ReadSafetensors(Path.Combine(dir, "adapter_model.safetensors"))["prompt_embeddings"];
        // row p, layer l: keys at p·256 + l·128, values 64 further (2 layers · 2 · 64 = 256 numbers per row)
        double[][] Part(int layer, int offset) =>
            Enumerable.Range(0, 3).Select(p => rows.AsSpan(p * 256 + layer * 128 + offset, 64).ToArray()).ToArray();
        var prefix = Enumerable.Range(0, 2).Select(layer => (Keys: Part(layer, 0), Values: Part(layer, 64))).ToList();
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var ids = model.Tokenizer.Encode(ReferenceLlama.StoryText, addSpecialTokens: true);
        using var adapters = new AdapterSet(model);
        adapters.Load(dir, "prefix");
        var expected = new ReferenceLlama(TestPaths.TinyStories).Logits(ids, prefix);
        Assert.InRange(MaxDifference(expected, model, ids), 0, 1e-4);
        Assert.True(MaxDifference(new ReferenceLlama(TestPaths.TinyStories).Logits(ids), model, ids) > 1e-2);
    }

    [Theory]
    [InlineData("\"r\": 0", "r", "must be ≥ 1")]
    [InlineData("\"r\": -2", "r", "must be ≥ 1")]
    [InlineData("\"r\": \"4\"", "r", "expected a number")]
    [InlineData("\"r\": 2.5", "r", "expected an integer")]
    [InlineData("\"r\": 4, \"lora_dropout\": 1.5", "lora_dropout", "must be in [0, 1]")]
    [InlineData("\"r\": 4, \"use_rslora\": \"yes\"", "use_rslora", "expected true or false")]
    public void AdapterConfig_BadValue_IsAUserErrorNamingFileAndField(string values, string field, string says)
    {
        var dir = PeftWrittenAdapter(false);
        var config = Path.Combine(dir, "adapter_config.json");
        File.WriteAllText(config, "{\"peft_type\": \"LORA\", \"target_modules\": [\"q_proj\"], " + values + "}");
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var adapters = new AdapterSet(model);
        var error = Assert.Throws<UserError>(() => adapters.Load(dir, "bad"));
        Assert.Equal(config, error.File);
        Assert.Equal(field, error.Field);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
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
