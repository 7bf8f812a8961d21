using ModelLedger.Engine.Runtime;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

/// <summary>libtorch's default dtype is process-wide: a server loads models while other threads compute, so loading
/// a bf16 model must never switch it, not even for a moment.</summary>
[Collection(Collections.TorchRng)]
public sealed class DefaultDTypeTests
{
    [Fact]
    public async Task LowPrecisionLoad_NeverChangesTheProcessDefaultDType()
    {
        Assert.Equal(ScalarType.Float32, get_default_dtype());
        // A thread that keeps creating tensors while models load sees any moment the default is switched: building
        // the network takes milliseconds, thousands of this loop's iterations.
        var seen = new HashSet<ScalarType>();
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var t = empty(1);
                seen.Add(t.dtype);
            }
        }, TestContext.Current.CancellationToken);
        for (int i = 0; i < 5; i++)
        {
            using var model = PretrainedModel.Load(TestPaths.TinyStories, dtype: ModelDType.BFloat16);
            Assert.All(model.Network.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        }
        stop.Cancel();
        await watcher;
        Assert.Equal([ScalarType.Float32], seen);
        Assert.Equal(ScalarType.Float32, get_default_dtype());
    }
}
