using System.ComponentModel;
using System.Diagnostics;

namespace ModelLedger.Bench.Peers;

/// <summary>Runs a peer's tool (node, npm, git, g++, llama-bench) in a folder: stdout is collected, stderr lines are
/// passed on as they come (the peer's progress) and the last few are kept for the error message.</summary>
internal static class PeerProcess
{
    public static string Run(string tool, IEnumerable<string> args, string folder, Action<string> log,
        IReadOnlyDictionary<string, string>? environment = null,
        string needs = "the llama.cpp peer needs Node.js 20 or newer")
    {
        var info = new ProcessStartInfo(tool)
        {
            WorkingDirectory = folder, UseShellExecute = false,
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var tail = new Queue<string>();
        using var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            log(e.Data);
            lock (tail)
            {
                tail.Enqueue(e.Data);
                if (tail.Count > 5) tail.Dequeue();
            }
        };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new PeerException($"cannot start '{tool}' ({e.Message}): {needs}", e);
        }
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            lock (tail)
                throw new PeerException($"'{tool} {string.Join(' ', info.ArgumentList)}' exited with "
                    + $"{process.ExitCode}: {string.Join(" | ", tail)}");
        return stdout;
    }
}
