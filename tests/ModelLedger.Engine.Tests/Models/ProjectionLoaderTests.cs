using ModelLedger.Engine.Formats;
using ModelLedger.Testing;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Engine.Models;

/// <summary>A load that hands each decoder projection to a builder as it is read (how QLoRA quantizes while
/// loading, never holding the full-precision model).</summary>
public sealed class ProjectionLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A builder that makes a plain Linear of what it is given.</summary>
    private static Module<Tensor, Tensor> Copy(Tensor weight, Tensor? bias)
    {
        var linear = Linear(weight.shape[1], weight.shape[0], hasBias: bias is not null);
        using var _ = no_grad();
        linear.weight!.copy_(weight);
        if (bias is not null) linear.bias!.copy_(bias);
        return linear;
    }

    [Fact]
    public void Load_WithACopyingLoader_GivesTheLogitsOfAPlainLoad()
    {
        using var plain = PretrainedModel.Load(TestPaths.Stories260K);
        using var loaded = PretrainedModel.Load(TestPaths.Stories260K, projections: Copy);
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 403, 407, 261, 378, 9, 77, 300 }).unsqueeze(0);
        Assert.True(plain.Network.call(ids).eq(loaded.Network.call(ids)).all().item<bool>());
        Assert.Equal(plain.Network.named_parameters().Select(p => p.name),
            loaded.Network.named_parameters().Select(p => p.name));
    }

    [Fact]
    public void Load_WithALoader_FreesEachProjectionsWeightBeforeReadingTheNext()
    {
        var given = new List<Tensor>();
        Module<Tensor, Tensor> Watch(Tensor weight, Tensor? bias)
        {
            Assert.All(given, t => Assert.True(t.IsInvalid, "an earlier weight is still alive"));
            given.Add(weight);
            return Copy(weight, bias);
        }
        using var model = PretrainedModel.Load(TestPaths.Stories260K, projections: Watch);
        Assert.Equal(model.Network.LayerCount * 7, given.Count);
        Assert.True(given[^1].IsInvalid);
    }

    [Fact]
    public void Load_WithALoader_NonFiniteProjectionWeight_NamesTheTensor()
    {
        var dir = _dir.CopyOf(TestPaths.Stories260K);
        var path = Path.Combine(dir, "model.safetensors");
        var file = SafetensorsFile.Open(path);
        var tensors = file.Entries.Keys.Select(name => (name, file.Read(name))).ToList();
        tensors.First(t => t.name == "model.layers.1.self_attn.k_proj.weight").Item2.view(-1)[3] = tensor(float.NaN);
        SafetensorsWriter.Write(path, tensors, file.Metadata);
        var error = Assert.Throws<UserError>(() => PretrainedModel.Load(dir, projections: Copy));
        Assert.Equal(path, error.File);
        Assert.Contains("'model.layers.1.self_attn.k_proj.weight' holds 1 NaN or infinite value(s)", error.Message,
            StringComparison.Ordinal);
    }
}
