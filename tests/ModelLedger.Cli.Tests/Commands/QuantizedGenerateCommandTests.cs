using System.Text.Json;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Quantization;

namespace ModelLedger.Cli.Commands;

/// <summary><c>generate --weights q8_0</c>: the greedy ids the CLI prints equal libtorch's (the C# step off) on the
/// model with its weights fake-quantized to Q8_0 here; nf4 is not a decode weight type (one line, exit code 2).
/// </summary>
public sealed class QuantizedGenerateCommandTests
{
    [Fact]
    public void Q8Weights_PrintLibtorchIdsOnFakeQuantizedWeights()
    {
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--max-new-tokens", "24",
            "--temperature", "0", "--weights", "q8_0", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var doc = JsonDocument.Parse(result.Stdout);
        var ids = doc.RootElement.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var quantized = FakeQuantization.Apply(model, Engine.Quantization.WeightQuantization.Q8_0);
        DecodeSession.Enabled = false;
        try
        {
            var reference = new TextGenerator(model).Generate([[1]], new GenerationOptions { MaxNewTokens = 24 })[0];
            Assert.Equal(reference.TokenIds, ids);
        }
        finally
        {
            DecodeSession.Enabled = true;
        }
    }

    [Fact]
    public void Nf4Weights_AreAOneLineError()
    {
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--weights", "nf4");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("nf4", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
    }
}
