using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

/// <summary>The JSON a successful command printed (the run must have exited 0; its stderr is shown otherwise).</summary>
internal static class CliJson
{
    public static JsonElement Json(CliResult result)
    {
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        return JsonDocument.Parse(result.Stdout).RootElement;
    }
}
