using System.Text.Json.Nodes;
using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Runtime;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

[Collection(Collections.TorchRng)]
public sealed class ArchitectureTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Init(LlamaArchitecture arch, bool tied = true, int kvHeads = 2)
    {
        var dir = _dir.Sub($"{arch}-{tied}-{kvHeads}");
        RandomInit.Write(new ModelShape(arch, 32, 2, 4, kvHeads, 64, 128, TieWordEmbeddings: tied), TestPaths.Stories260K, dir, seed: 7);
        return dir;
    }

    private static Tensor Logits(PretrainedModel model, params long[] ids)
    {
        using var _ = inference_mode();
        return model.Network.forward(tensor(ids, [1, ids.Length])).to(ScalarType.Float32);
    }

    [Theory]
    [InlineData(LlamaArchitecture.Llama, true)]
    [InlineData(LlamaArchitecture.Llama, false)]
    [InlineData(LlamaArchitecture.Mistral, false)]
    [InlineData(LlamaArchitecture.Qwen2, true)]
    public void InitSaveLoad_RoundTripsEveryArchitecture(LlamaArchitecture arch, bool tied)
    {
        var dir = Init(arch, tied);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal(arch == LlamaArchitecture.Qwen2 ? "qwen2" : arch.ToString().ToLowerInvariant(), config["model_type"]!.GetValue<string>());
        using var model = PretrainedModel.Load(dir);
        Assert.Equal(arch, model.Config.Architecture);
        Assert.Equal(tied, model.Config.TieWordEmbeddings);
        var names = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors")).Entries.Keys.ToHashSet();
        Assert.Equal(!tied, names.Contains("lm_head.weight"));
        Assert.Equal(arch == LlamaArchitecture.Qwen2, names.Contains("model.layers.0.self_attn.q_proj.bias"));
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);
        var resaved = _dir.Sub("resaved");
        PretrainedModel.Save(model.Network, dir, resaved);
        using var again = PretrainedModel.Load(resaved);
        Assert.True(Logits(model, 1, 5, 9).allclose(Logits(again, 1, 5, 9)));
    }

    [Fact]
    public void ShardedCheckpoint_LoadsLikeSingleFile()
    {
        var dir = Init(LlamaArchitecture.Llama, tied: false);
        var single = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        var names = single.Entries.Keys.Order(StringComparer.Ordinal).ToList();
        var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
        var map = new JsonObject();
        for (int s = 0; s < 2; s++)
        {
            var file = $"model-0000{s + 1}-of-00002.safetensors";
            var tensors = shards[s].Select(n => (n, single.Read(n))).ToList();
            SafetensorsWriter.Write(Path.Combine(dir, file), tensors);
            foreach (var n in shards[s]) map[n] = file;
        }
        using var reference = PretrainedModel.Load(dir);
        var expected = Logits(reference, 1, 2, 3);
        File.Delete(Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), new JsonObject { ["weight_map"] = map }.ToJsonString());
        using var sharded = PretrainedModel.Load(dir);
        Assert.True(expected.allclose(Logits(sharded, 1, 2, 3)));
    }

    /// <summary>Low-precision logits against the double-precision reference over a 40+ token text. The bounds are
    /// what the formats give: bf16 keeps 8 significant bits (unit roundoff 2^-8 ≈ 0.0039) and measured 0.0085 of the
    /// largest logit here, fp16 11 bits (2^-11 ≈ 0.00049) and measured 0.00086; the bounds are about 5 unit roundoffs
    /// (the old bound was 30 %), so a cast to the wrong type or a norm computed in low precision exceeds
    /// them.</summary>
    [Theory]
    [InlineData(ModelDType.BFloat16, 0.02)]
    [InlineData(ModelDType.Float16, 0.0025)]
    public void LowPrecisionLoads_StayWithinTheirFormatsError(ModelDType dtype, double tolerance)
    {
        using var low = PretrainedModel.Load(TestPaths.TinyStories, dtype: dtype);
        Assert.Equal(dtype.ToScalarType(), low.Network.DType);
        var ids = low.Tokenizer.Encode(ReferenceLlama.StoryText, addSpecialTokens: true);
        var expected = new ReferenceLlama(TestPaths.TinyStories).Logits(ids);
        double largest = expected.Max(row => row.Max(Math.Abs));
        var actual = Logits(low, ids.Select(i => (long)i).ToArray())[0];
        Assert.InRange(LlamaReferenceTests.MaxAbsDifference(expected, actual) / largest, 0, tolerance);
    }

    [Fact]
    public void StoredHalfPrecisionCheckpoint_LoadsInFloat32()
    {
        var dir = Init(LlamaArchitecture.Llama);
        using var f32 = PretrainedModel.Load(dir);
        var bf16Dir = _dir.Sub("bf16");
        using (var bf16 = PretrainedModel.Load(dir, dtype: ModelDType.BFloat16)) PretrainedModel.Save(bf16.Network, dir, bf16Dir);
        Assert.Equal("BF16", SafetensorsFile.Open(Path.Combine(bf16Dir, "model.safetensors")).Entries["model.norm.weight"].DType);
        using var reloaded = PretrainedModel.Load(bf16Dir);
        Assert.Equal(ScalarType.Float32, reloaded.Network.DType);
        Assert.True(Logits(f32, 1, 2).allclose(Logits(reloaded, 1, 2), rtol: 0.05, atol: 0.05));
    }

    [Fact]
    public void Llama3RopeScaling_MatchesIndependentlyComputedFrequencies()
    {
        var config = new LlamaConfig { HeadDim = 128, RopeTheta = 500000, Rope = new RopeScaling(RopeScalingType.Llama3, 8, 1, 4, 8192) };
        var inv = Rotary.InverseFrequencies(config);
        (int Index, double Value)[] expected = [(0, 1.0), (20, 0.016560440080994446), (30, 0.0013718935677611381),
            (40, 3.428102195952591e-05), (50, 4.411534674558404e-06), (63, 3.068925988914511e-07)];
        foreach (var (i, v) in expected) Assert.Equal(v, inv[i], v * 1e-5);
    }

    [Fact]
    public void LinearRopeScaling_DividesFrequencies()
    {
        var plain = Rotary.InverseFrequencies(new LlamaConfig { HeadDim = 16 });
        var scaled = Rotary.InverseFrequencies(new LlamaConfig { HeadDim = 16, Rope = new RopeScaling(RopeScalingType.Linear, 4) });
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i] / 4, scaled[i], 1e-9);
    }

    [Fact]
    public void Config_MissingKeysTakeHfDefaults_AndQwen2HasQkvBias()
    {
        var qwen = LlamaConfig.FromJson(new JsonObject { ["architectures"] = new JsonArray("Qwen2ForCausalLM"), ["hidden_size"] = 64, ["num_attention_heads"] = 4 });
        Assert.True(qwen.QkvBias);
        Assert.False(qwen.OutputBias);
        Assert.Equal(4, qwen.NumKeyValueHeads);
        Assert.Equal(16, qwen.HeadDim);
        var llama = LlamaConfig.FromJson(new JsonObject { ["model_type"] = "llama", ["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = 2.0 } });
        Assert.Equal(32000, llama.VocabSize);
        Assert.Equal(RopeScalingType.Linear, llama.Rope.Type);
        var mistral = LlamaConfig.FromJson(new JsonObject { ["model_type"] = "mistral" });
        Assert.Equal(4096, mistral.SlidingWindow);
    }

    [Fact]
    public void Config_UnsupportedArchitectureOrBadValues_AreUserErrors()
    {
        Assert.Contains("unsupported architecture", Assert.Throws<UserError>(() =>
            LlamaConfig.FromJson(new JsonObject { ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["model_type"] = "gpt2" })).Message, StringComparison.Ordinal);
        var error = Assert.Throws<UserError>(() => LlamaConfig.FromJson(new JsonObject { ["num_attention_heads"] = 6, ["num_key_value_heads"] = 4 }));
        Assert.Contains("multiple of num_key_value_heads", error.Message, StringComparison.Ordinal);
        Assert.Equal("hidden_size", Assert.Throws<UserError>(() => LlamaConfig.FromJson(new JsonObject { ["hidden_size"] = "big" })).Field);
    }

    [Fact]
    public void Load_ShapeMismatch_NamesTheTensor()
    {
        var dir = Init(LlamaArchitecture.Llama);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["intermediate_size"] = 48;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var error = Assert.Throws<UserError>(() => PretrainedModel.Load(dir));
        Assert.Equal(Path.Combine(dir, "config.json"), error.File);
        Assert.Contains("intermediate_size is 48 but model.layers.0.mlp.gate_proj.weight [64, 32] implies 64",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SlidingWindow_MatchesTheReferenceAndNotAWindowOffByOne()
    {
        // TinyStories-656K's trained weights read as a Mistral model (same tensors) with a 3-key window.
        var dir = _dir.CopyOf(TestPaths.TinyStories);
        var path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        (config["architectures"], config["model_type"]) = (new JsonArray("MistralForCausalLM"), "mistral");
        config["sliding_window"] = 3;
        File.WriteAllText(path, config.ToJsonString());
        using var model = PretrainedModel.Load(dir);
        var ids = model.Tokenizer.Encode("Tom and Lily went to the park to play with a big red ball.",
            addSpecialTokens: true);
        var ours = Logits(model, ids.Select(i => (long)i).ToArray())[0];
        var reference = new ReferenceLlama(dir);
        Assert.Equal(3, reference.SlidingWindow);
        Assert.InRange(LlamaReferenceTests.MaxAbsDifference(reference.Logits(ids), ours), 0, 1e-4);
        // The same test with a window one key narrower or wider must fail: the comparison can see an off-by-one.
        foreach (var offByOne in new[] { 2, 4 })
        {
            reference.SlidingWindow = offByOne;
            Assert.True(LlamaReferenceTests.MaxAbsDifference(reference.Logits(ids), ours) > 1e-3, $"window {offByOne}");
        }
    }
}
