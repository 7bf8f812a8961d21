using System.Diagnostics;

namespace ModelLedger.Testing;

/// <summary>The real <c>mledger</c> running as a child process the test can watch and signal (for interrupts).
/// Stdout lines arrive in <see cref="Lines"/>; stderr is collected.</summary>
public sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _stderr = new();
    public System.Collections.Concurrent.BlockingCollection<string> Lines { get; } = [];

    public CliProcess(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mledger.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is { } line) Lines.Add(line); else Lines.CompleteAdding(); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lock (_stderr) _stderr.AppendLine(line); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Sends a POSIX signal (e.g. "INT", "TERM") with the system's kill command.</summary>
    public void Signal(string name) => Process.Start("kill", ["-" + name, Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!
        .WaitForExit();

    public int WaitForExit(int timeoutSeconds)
    {
        if (!_process.WaitForExit(timeoutSeconds * 1000))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mledger ran over {timeoutSeconds} s");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
        Lines.Dispose();
    }
}
