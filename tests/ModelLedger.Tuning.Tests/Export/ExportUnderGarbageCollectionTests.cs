using System.Diagnostics;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Adapters;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Export;

/// <summary>Export runs in long-lived processes (the server's GUI export, the worker) beside threads that allocate,
/// so its tensor temporaries must stay referenced while libtorch reads them: the LoRA merge's ΔW and dtype copy, the
/// GGUF encoder's detach/to/contiguous copies and permuted q/k rows, the prefix table's conversion. These tests
/// repeat each path under a collector that never stops and compare the bytes written with a reference written
/// before the collector started (the same code, so any difference is the race).</summary>
[Collection(Collections.TorchRng)]
public sealed class ExportUnderGarbageCollectionTests : IDisposable
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(6);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task MergedAndGgufExports_UnderConstantGarbageCollection_WriteTheSameBytes()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var adapter = _dir.Sub("adapter");
        RandomAdapters.WriteLora(model.Config, adapter, rank: 4, seed: 7);
        var (merged, gguf) = Export(adapter, _dir.Sub("reference"));
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Duration || runs < 3)
            {
                var again = Export(adapter, _dir.Sub($"run{++runs}"));
                Assert.Equal(merged, again.Merged);
                Assert.Equal(gguf, again.Gguf);
            }
        }
    }

    [Fact]
    public async Task PrefixSaveAndLoad_UnderConstantGarbageCollection_KeepTheTable()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        var reference = _dir.Sub("prefix");
        RandomAdapters.WritePrefix(model.Config, reference, length: 4, seed: 3);
        var expected = Table(model, reference);
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Duration || runs < 10)
            {
                var copy = _dir.Sub($"prefix{++runs}");
                using (var loaded = PeftPrefixFiles.Load(model.Config, reference, CPU, ScalarType.Float32))
                    PeftPrefixFiles.Save(loaded, model.Config, "random", copy);
                Assert.Equal(expected, Table(model, copy));
            }
        }
    }

    /// <summary>The merge alone, many times a second, on a bf16 base (so ΔW's dtype copy is a new tensor libtorch
    /// reads while nothing else references it).</summary>
    [Fact]
    public async Task LoraMerge_UnderConstantGarbageCollection_AddsTheSameDelta()
    {
        manual_seed(11);
        var linear = nn.Linear(512, 512, hasBias: false, dtype: ScalarType.BFloat16);
        using var lora = new LoraLinear(linear, 512, 512);
        var pair = lora.AddAdapter("a", 8, 16, 0, false, CPU, ScalarType.Float32);
        using (no_grad()) pair.B.weight!.normal_();
        using var original = linear.weight!.detach().clone();
        lora.Merge("a");
        using var expected = linear.weight!.detach().clone();
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Duration || runs < 21)
            {
                runs++;
                using (no_grad()) linear.weight!.copy_(original);
                lora.Merge("a");
                Assert.True(linear.weight!.allclose(expected, rtol: 0, atol: 0), $"merge {runs} differs");
            }
        }
    }

    /// <summary>The GGUF encoder alone: F16 copies bytes out of a converted temporary, Q8_0 reads its values.</summary>
    [Fact]
    public async Task GgufEncode_UnderConstantGarbageCollection_GivesTheSameBytes()
    {
        manual_seed(12);
        using var weight = randn(512, 512);
        var f16 = GgufExport.Encode(weight, GgmlType.F16);
        var q8 = GgufExport.Encode(weight, GgmlType.Q8_0);
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Duration || runs < 21)
            {
                runs++;
                Assert.True(f16.AsSpan().SequenceEqual(GgufExport.Encode(weight, GgmlType.F16)), $"F16 run {runs}");
                Assert.True(q8.AsSpan().SequenceEqual(GgufExport.Encode(weight, GgmlType.Q8_0)), $"Q8_0 run {runs}");
            }
        }
    }

    /// <summary>The merged checkpoint's weights file and the Q8_0 GGUF file (Q8_0 runs the block encoder
    /// too).</summary>
    private static (byte[] Merged, byte[] Gguf) Export(string adapter, string output)
    {
        var hf = ExportJob.Run(TestPaths.TinyStories, adapter, Path.Combine(output, "hf"), ExportFormat.Hf,
            GgmlType.F32, _ => { });
        var gguf = ExportJob.Run(TestPaths.TinyStories, adapter, Path.Combine(output, "gguf"), ExportFormat.Gguf,
            GgmlType.Q8_0, _ => { });
        return (File.ReadAllBytes(Path.Combine(hf, "model.safetensors")), File.ReadAllBytes(gguf));
    }

    private static float[] Table(PretrainedModel model, string directory)
    {
        using var encoder = PeftPrefixFiles.Load(model.Config, directory, CPU, ScalarType.Float32);
        using var scope = NewDisposeScope();   // the check's own temporaries, or the check itself would race
        return encoder.PromptEmbeddings().detach().data<float>().ToArray();
    }
}
