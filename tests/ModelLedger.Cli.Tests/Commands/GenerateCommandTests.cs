using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

public sealed class GenerateCommandTests
{
    [Fact]
    public void Json_FromBos_PrintsReferenceTokens()
    {
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--max-new-tokens", "20", "--temperature", "0", "--json");
        Assert.Equal(0, result.ExitCode);
        using var doc = JsonDocument.Parse(result.Stdout);
        Assert.Equal([1], doc.RootElement.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([147, 201, 282, 215, 286, 598, 1662, 356, 499, 826, 1363, 1145, 1652, 615, 242, 1482, 951, 628, 499, 826],
            doc.RootElement.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.StartsWith("Once upon a time, there was a little girl", doc.RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Streaming_PrintsPromptThenContinuation()
    {
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--prompt", "Once upon a time", "--max-new-tokens", "12", "--temperature", "0");
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("Once upon a time, ", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingModel_IsOneLineErrorWithoutStackTrace()
    {
        var result = CliRunner.Run("generate", "--model", "/nonexistent/model", "--json");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.StartsWith("error: /nonexistent/model: model directory not found", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public void TruncatedWeights_AreReportedWithTheFileName()
    {
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(TestPaths.Stories260K)) File.Copy(file, dir.File(Path.GetFileName(file)));
        var weights = dir.File("model.safetensors");
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..^100]);
        var result = CliRunner.Run("generate", "--model", dir.Path, "--json");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains(weights, result.Stderr, StringComparison.Ordinal);
        Assert.Contains("truncated", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
    }

    [Fact]
    public void BadSamplingFlags_AreAllReported()
    {
        var result = CliRunner.Run("generate", "--model", TestPaths.Stories260K, "--temperature", "-1", "--top-p", "2");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("temperature", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("top_p", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
    }
}
