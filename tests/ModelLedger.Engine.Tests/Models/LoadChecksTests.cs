using System.Text.Json.Nodes;
using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Generation;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

public sealed class LoadChecksTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Load_NonFiniteWeight_NamesTheTensor(float poison)
    {
        var dir = _dir.CopyOf(TestPaths.Stories260K);
        var path = Path.Combine(dir, "model.safetensors");
        var file = SafetensorsFile.Open(path);
        var tensors = file.Entries.Keys.Select(name => (name, file.Read(name))).ToList();
        var target = tensors.First(t => t.name == "model.layers.3.mlp.up_proj.weight").Item2;
        target.view(-1)[5] = tensor(poison);
        SafetensorsWriter.Write(path, tensors, file.Metadata);
        var error = Assert.Throws<UserError>(() => PretrainedModel.Load(dir));
        Assert.Equal(path, error.File);
        Assert.Contains("'model.layers.3.mlp.up_proj.weight' holds 1 NaN or infinite value(s)", error.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConfigWithoutHiddenSize_NamesTheConfigKeyNotATensor()
    {
        var dir = _dir.CopyOf(TestPaths.Stories260K);
        var path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config.Remove("hidden_size");
        File.WriteAllText(path, config.ToJsonString());
        var error = Assert.Throws<UserError>(() => PretrainedModel.Load(dir));
        Assert.Equal(path, error.File);
        // HF's LlamaConfig default for a missing hidden_size is 4096; the stored embedding is [512, 64].
        Assert.StartsWith(
            "hidden_size is missing (HF's default: 4096) but model.embed_tokens.weight [512, 64] implies 64",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConfigWithTooFewLayers_SaysSo()
    {
        var dir = _dir.CopyOf(TestPaths.Stories260K);
        var path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["num_hidden_layers"] = 3;
        File.WriteAllText(path, config.ToJsonString());
        var error = Assert.Throws<UserError>(() => PretrainedModel.Load(dir));
        Assert.Equal("num_hidden_layers is 3 but the checkpoint stores 5 layers", error.Message);
    }

    [Fact]
    public void Generate_PastMaxPositionEmbeddings_Warns()
    {
        using var model = PretrainedModel.Load(TestPaths.Stories260K);
        var warnings = new List<string>();
        var generator = new TextGenerator(model) { Warn = warnings.Add };
        var options = new GenerationOptions { MaxNewTokens = 4 };
        int[] within = [1, .. Enumerable.Repeat(300, 507)];   // 508 + 4 = 512 = max_position_embeddings: fine
        generator.Generate([within], options);
        Assert.Empty(warnings);
        generator.Generate([[.. within, 300]], options);
        var warning = Assert.Single(warnings);
        Assert.Contains("prompt (509 tokens) plus max_new_tokens (4) exceeds max_position_embeddings (512)", warning,
            StringComparison.Ordinal);
    }
}
