using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ModelLedger.Bench;

/// <summary>The PyTorch peer's figure for one method, measured in the same bench run as ours.</summary>
public sealed record PyTorchRow(string Method, double TokensPerSecond, string TorchVersion, int Threads, string Blas);

/// <summary>
/// <c>bench finetune --peer pytorch</c>: the same shape, method, sequence, batch and steps trained by a plain-PyTorch
/// Llama (Peers/pytorch_finetune.py beside the binary), one method per python3 process. A missing PyTorch is a
/// note, never a failure of the bench.
/// </summary>
public static class FinetunePeer
{
    public const string Name = "pytorch";

    /// <summary>The methods the peer script trains (the others get no peer figure).</summary>
    public static readonly string[] Methods = ["full", "lora", "ptuning"];

    /// <summary>Debian's torch calls whatever libblas.so.3 is selected; the reference BLAS is ~100x slower than
    /// OpenBLAS, so the hint installs both.</summary>
    public const string InstallHint =
        "apt-get install -y python3-torch libopenblas0-pthread (Debian), or pip install torch";

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Peers", "pytorch_finetune.py");

    /// <summary>The interpreter that imports torch: $MLEDGER_PYTHON, else python3 on PATH, else the system's
    /// /usr/bin/python3 (Debian's python3-torch lands there even when a pyenv python3 comes first on PATH).</summary>
    private static string? s_python;

    /// <summary>Null when a python3 imports torch, else the one line saying why the peer is skipped.</summary>
    public static string? Missing()
    {
        if (!File.Exists(Script)) return $"PyTorch peer skipped: {Script} is missing beside the binary";
        string?[] candidates = [Environment.GetEnvironmentVariable("MLEDGER_PYTHON"), "python3", "/usr/bin/python3"];
        s_python = candidates.OfType<string>().FirstOrDefault(p => Python(p, ["-c", "import torch"]).Code == 0);
        return s_python is null ? $"PyTorch peer skipped: python3 with torch is not installed ({InstallHint})" : null;
    }

    /// <summary>Trains <paramref name="method"/> with the peer; null (and a note) if the peer failed.</summary>
    public static PyTorchRow? Run(string method, string model, int steps, int sequence, int batch, Action<string> note)
    {
        var inv = CultureInfo.InvariantCulture;
        if (s_python is null && Missing() is string missing)
        {
            note(missing);
            return null;
        }
        var (code, stdout, stderr) = Python(s_python!, [Script, "--model", model, "--method", method, "--steps",
            steps.ToString(inv), "--seq", sequence.ToString(inv), "--batch", batch.ToString(inv)]);
        if (code != 0)
        {
            note($"PyTorch peer failed on {method} ({code}): {stderr.Trim().Split('\n')[^1]}");
            return null;
        }
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var r = json.RootElement;
        return new PyTorchRow(method, r.GetProperty("tokens_per_second").GetDouble(),
            r.GetProperty("torch").GetString() ?? "?", r.GetProperty("threads").GetInt32(),
            r.GetProperty("blas").GetString() ?? "?");
    }

    private static (int Code, string Stdout, string Stderr) Python(string python, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(python)
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)   // no such interpreter
        {
            return (-1, "", e.Message);
        }
    }
}
