using System.Diagnostics;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Tests.Models;

/// <summary>TorchSharp frees a tensor handle from its finalizer. A temporary passed straight into a native call
/// (<c>p.copy_(t.to(dtype))</c>) is unreachable while libtorch reads it, so another thread's GC could free it mid-call:
/// `mledger bench attribution` died with SIGSEGV in copy_ (a freed at::Tensor read by intrusive_ptr::retain_) while
/// loading the base model for its ~30th retraining, three runs out of three. Loading and saving now keep every
/// temporary referenced (a dispose scope). These tests load and save under a collector that never stops; before
/// the fix the process crashed here.</summary>
public sealed class LoadUnderGarbageCollectionTests
{
    [Fact]
    public async Task LoadAndSave_UnderConstantGarbageCollection_KeepTheWeights()
    {
        using var reference = PretrainedModel.Load(TestPaths.TinyStories);
        var expected = Sums(reference);
        var dir = Directory.CreateTempSubdirectory("mledger-gc-load-").FullName;
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) { GC.Collect(0); GC.WaitForPendingFinalizers(); }
        });
        int loads = 0;
        try
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(6) || loads < 11)
            {
                using var model = PretrainedModel.Load(TestPaths.TinyStories, dtype: ModelDType.BFloat16);
                using var again = PretrainedModel.Load(TestPaths.TinyStories);
                if (++loads % 4 == 0) PretrainedModel.Save(again.Network, TestPaths.TinyStories, dir);
                Assert.Equal(expected, Sums(again));
            }
        }
        finally
        {
            stop.Cancel();
            await collector;
            Directory.Delete(dir, recursive: true);
        }
    }

    // The test's own temporaries are scoped too, or the check itself would race.
    private static float[] Sums(PretrainedModel model)
    {
        using var scope = NewDisposeScope();
        return model.Network.CheckpointTensors().Select(t => t.Tensor.sum().item<float>()).ToArray();
    }
}
