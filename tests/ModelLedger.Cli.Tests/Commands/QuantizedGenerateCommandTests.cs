using System.Text.Json;
using ModelLedger.Engine.Kernels;
using ModelLedger.Testing;
using ModelLedger.Tuning.Quantization;

namespace ModelLedger.Cli.Commands;

/// <summary><c>generate --weights q8_0</c>: the greedy ids the CLI prints equal <see cref="Q8Reference"/>'s (libtorch
/// on the model with its weights and decode-step activations fake-quantized to Q8_0); <c>--weights nf4</c>: those of
/// <see cref="Nf4Reference"/> (libtorch on Nf4Linear's weights); an unknown type is one line.
/// </summary>
public sealed class QuantizedGenerateCommandTests
{
    [Fact]
    public void Q8Weights_PrintLibtorchIdsOnFakeQuantizedWeightsAndActivations()
    {
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--max-new-tokens", "24",
            "--temperature", "0", "--weights", "q8_0", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var doc = JsonDocument.Parse(result.Stdout);
        var ids = doc.RootElement.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var reference = Q8Reference.Greedy(TestPaths.TinyStories, [[1]], 24)[0];
        Assert.Equal(reference.Take(ids.Length), ids.Select(i => (long)i));   // the reply may stop at EOS
    }

    [Fact]
    public void Nf4Weights_PrintLibtorchIdsOnNf4FakeQuantizedWeights()
    {
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--max-new-tokens", "24",
            "--temperature", "0", "--weights", "nf4", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var doc = JsonDocument.Parse(result.Stdout);
        var ids = doc.RootElement.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var (reference, logits) = Nf4Reference.Greedy(TestPaths.TinyStories, [[1]], 24);
        foreach (var t in logits) t.Dispose();
        Assert.Equal(reference[0].Take(ids.Length), ids);   // the reply may stop at EOS
    }

    [Fact]
    public void UnknownWeights_AreAOneLineError()
    {
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--weights", "q4_k");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("q4_k", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
    }
}
