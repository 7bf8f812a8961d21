using LLama;
using LLama.Common;
using LLama.Native;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;

namespace ModelLedger.Tuning.Export;

public sealed class GgufExportTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Greedy ids from BOS decoded by llama.cpp (through LLamaSharp) from a GGUF file.</summary>
    private static int[] LlamaCppGreedy(string gguf, int count)
    {
        var parameters = new ModelParams(gguf) { ContextSize = 128, GpuLayerCount = 0, BatchSize = 128 };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        var tokens = new List<int>();
        LLamaToken next = 1;
        for (int pos = 0; pos < count; pos++)
        {
            batch.Clear();
            batch.Add(next, pos, LLamaSeqId.Zero, true);
            Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
            var logits = context.NativeHandle.GetLogitsIth(0);
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
            tokens.Add(best);
            next = best;
        }
        return [.. tokens];
    }

    [Theory]
    [InlineData(GgmlType.F32, 12)]
    [InlineData(GgmlType.F16, 8)]
    [InlineData(GgmlType.Q8_0, 5)]
    public void Gguf_LoadsInLlamaCppAndDecodesLikeOurEngine(GgmlType type, int steps)
    {
        var file = ExportJob.Run(TestPaths.TinyStories, null, _dir.Path, ExportFormat.Gguf, type, _ => { });
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var ours = new TextGenerator(model).Generate([[1]], new GenerationOptions { MaxNewTokens = steps })[0].TokenIds;
        Assert.Equal(ours, LlamaCppGreedy(file, steps));
    }

    [Fact]
    public void Gguf_ByteLevelVocabulary_TokenizesAndDecodesInLlamaCppLikeOurEngine()
    {
        var dir = ByteLevelCheckpoint.Create(_dir.Path);
        var file = ExportJob.Run(dir, null, _dir.Sub("out"), ExportFormat.Gguf, GgmlType.F32, _ => { });
        using var model = PretrainedModel.Load(dir);
        const string text = "Tom and Lily were playing in the park. They don't stop: 12345 balls!\n  Happy days.";
        var ours = model.Tokenizer.Encode(text);
        var parameters = new ModelParams(file) { ContextSize = 128, GpuLayerCount = 0, BatchSize = 128 };
        using (var weights = LLamaWeights.LoadFromFile(parameters))
        using (var context = weights.CreateContext(parameters))
            Assert.Equal(ours, context.Tokenize(text, false, false).Select(t => (int)t));
        var greedy = new TextGenerator(model).Generate([[1]], new GenerationOptions { MaxNewTokens = 10 })[0].TokenIds;
        Assert.Equal(greedy, LlamaCppGreedy(file, 10));
    }

    [Fact]
    public void MergedHfExport_GeneratesLikeBasePlusAdapter()
    {
        var adapterDir = _dir.Sub("adapter");
        using (var model = PretrainedModel.Load(TestPaths.TinyStories))
        {
            Adapters.LoraInjector.Attach(model.Network, "a", new Adapters.LoraSettings(4, 8, 0, Adapters.LoraSettings.AllTargets));
            using (TorchSharp.torch.no_grad())
                foreach (var (_, layer) in Adapters.LoraInjector.Find(model.Network)) layer.Adapters["a"].B.weight!.normal_(0, 0.05);
            Adapters.PeftLoraFiles.Save(model.Network, "a", new Adapters.LoraSettings(4, 8, 0, Adapters.LoraSettings.AllTargets), TestPaths.TinyStories, adapterDir);
        }
        var merged = ExportJob.Run(TestPaths.TinyStories, adapterDir, _dir.Sub("merged"), ExportFormat.Hf, GgmlType.F32, _ => { });
        var options = new GenerationOptions { MaxNewTokens = 16 };
        int[] withAdapter;
        using (var model = PretrainedModel.Load(TestPaths.TinyStories))
        using (var adapters = new Adapters.AdapterSet(model))
        {
            adapters.Load(adapterDir, "a");
            withAdapter = new TextGenerator(model).Generate([[1]], options)[0].TokenIds;
        }
        using var reloaded = PretrainedModel.Load(merged);
        Assert.Equal(withAdapter, new TextGenerator(reloaded).Generate([[1]], options)[0].TokenIds);
        Assert.DoesNotContain(Engine.Formats.SafetensorsFile.Open(Path.Combine(merged, "model.safetensors")).Entries.Keys, k => k.Contains("lora", StringComparison.Ordinal));
    }

    [Fact]
    public void Permute_MatchesTheInterleavedLayout()
    {
        // one head of 4 rows: HF rotate-half order (r0, r1 | r2, r3) → GGML pairs (r0, r2, r1, r3)
        using var w = TorchSharp.torch.arange(4, dtype: TorchSharp.torch.ScalarType.Float32).reshape(4, 1);
        Assert.Equal([0f, 2f, 1f, 3f], GgufExport.Permute(w, 1).data<float>().ToArray());
    }
}
