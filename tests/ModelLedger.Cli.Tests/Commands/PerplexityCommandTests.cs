using System.Text.Json;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Quantization;
using ModelLedger.Testing;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Cli.Commands;

/// <summary>
/// <c>mledger perplexity</c> end to end on TinyStories-656K and a text written for these tests (not in its training
/// data): the f32 and q8_0 rows against perplexities computed here, llama-perplexity's recipe written out (chunks of
/// ctx tokens, BOS first, the second half scored), q8_0 on weights replaced here by Q8_0 values; nf4 (4 bits) must
/// cost more than q8_0 (8 bits). Bad flags are one line and exit code 2.
/// </summary>
public sealed class PerplexityCommandTests
{
    private static string Text => Path.Combine(TestPaths.RepositoryRoot, "testdata", "text", "heldout-stories.txt");

    [Fact]
    public void Rows_MatchPerplexitiesComputedHere()
    {
        var result = CliRunner.Run("perplexity", "--model", TestPaths.TinyStories, "-f", Text, "--ctx", "256", "--json");
        Assert.Equal(0, result.ExitCode);
        using var doc = JsonDocument.Parse(result.Stdout);
        var rows = doc.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("Weights").GetString()!,
            r => r.GetProperty("Perplexity").GetDouble());
        Assert.Equal(["f32", "q8_0", "nf4"], rows.Keys);
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        Assert.Equal(Reference(model, 256), rows["f32"], 1e-4 * rows["f32"]);
        QuantizeToQ8(model);
        Assert.Equal(Reference(model, 256), rows["q8_0"], 1e-4 * rows["q8_0"]);
        Assert.True(Math.Abs(rows["nf4"] - rows["f32"]) > Math.Abs(rows["q8_0"] - rows["f32"]),
            $"nf4 {rows["nf4"]} should move further from f32 {rows["f32"]} than q8_0 {rows["q8_0"]}");
    }

    [Theory]
    [InlineData("--weights", "q4_k", "unknown weight type")]
    [InlineData("--ctx", "4096", "--ctx")]
    [InlineData("--ctx", "2", "--ctx")]
    public void BadFlags_AreOneLineErrors(string flag, string value, string message)
    {
        var result = CliRunner.Run("perplexity", "--model", TestPaths.TinyStories, "-f", Text, flag, value);
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
    }

    [Fact]
    public void TextShorterThanOneChunk_IsAnError()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("short.txt"), "Once upon a time.");
        var result = CliRunner.Run("perplexity", "--model", TestPaths.TinyStories, "-f", dir.File("short.txt"));
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("fewer than one chunk", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
    }

    private static double Reference(PretrainedModel model, int ctx)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var ids = model.Tokenizer.Encode(File.ReadAllText(Text), addSpecialTokens: true);
        double sum = 0;
        int count = 0;
        for (int start = 0; start + ctx <= ids.Length; start += ctx)
        {
            var chunk = ids[start..(start + ctx)].Select(i => (long)i).ToArray();
            chunk[0] = model.Tokenizer.BosId!.Value;
            var logProbs = model.Network.forward(tensor(chunk, [1, ctx]))[0].log_softmax(-1);
            for (int i = ctx / 2; i < ctx - 1; i++, count++) sum -= logProbs[i, chunk[i + 1]].item<float>();
        }
        return Math.Exp(sum / count);
    }

    private static void QuantizeToQ8(PretrainedModel model)
    {
        using var _ = no_grad();
        var net = model.Network;
        foreach (var linear in Enumerable.Range(0, net.LayerCount)
                     .SelectMany(l => LlamaForCausalLM.ProjectionNames.Select(n => (Linear)net.Projection(l, n)))
                     .Append(net.LmHead))
        {
            var values = linear.weight!.data<float>().ToArray();
            Q8_0.Dequantize(values, values);
            linear.weight!.copy_(tensor(values, linear.weight.shape));
        }
    }
}
