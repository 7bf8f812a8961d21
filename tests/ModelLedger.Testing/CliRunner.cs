using System.Diagnostics;

namespace ModelLedger.Testing;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>True when stderr looks like a .NET stack trace (user mistakes must never show one).</summary>
    public bool HasStackTrace => Stderr.Contains("   at ", StringComparison.Ordinal) || Stderr.Contains("Unhandled exception", StringComparison.Ordinal);
}

/// <summary>Runs the real <c>mledger</c> binary (copied into the test output by the project reference) as a child
/// process, the way users run it.</summary>
public static class CliRunner
{
    /// <param name="environment">Variables set for the child only (e.g. an empty cache folder).</param>
    public static CliResult Run(IEnumerable<string> args, string? stdin = null, string? workingDirectory = null,
        int timeoutSeconds = 120, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mledger.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mledger {string.Join(' ', args)} ran over {timeoutSeconds} s");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static CliResult Run(params string[] args) => Run((IEnumerable<string>)args);
}
