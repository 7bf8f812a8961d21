using System.Diagnostics;

namespace ModelLedger.Cli;

/// <summary>Runs this CLI again as a child process (used where a measurement must own its process, e.g. peak RSS).</summary>
internal static class ChildProcess
{
    /// <summary>The command that starts this CLI again: the executable, then mledger.dll when the executable is the
    /// dotnet host (<c>dotnet mledger.dll</c>, as the tests run it).</summary>
    public static IReadOnlyList<string> Self()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? [host, typeof(ChildProcess).Assembly.Location] : [host];
    }

    public static string RunSelf(IReadOnlyList<string> args)
    {
        var self = Self();
        var info = new ProcessStartInfo(self[0])
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in self.Skip(1).Concat(args)) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new UserError($"child run failed ({process.ExitCode}): {stderr.Result.Trim()}");
        return stdout;
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("mledger-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
