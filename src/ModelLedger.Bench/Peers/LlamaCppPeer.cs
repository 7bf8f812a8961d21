using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Tuning.Export;

namespace ModelLedger.Bench.Peers;

/// <summary>What the llama.cpp peer runs: our prompt and decode lengths, its batches, KV types, threads.</summary>
public sealed record LlamaCppSettings(int PromptTokens, int NewTokens, IReadOnlyList<int> Batches,
    IReadOnlyList<string> KvTypes, IReadOnlyList<int> Threads, int Repeats);

/// <summary>
/// llama.cpp as a decode peer measured in the same run as our rows: the model is exported to GGUF by our own exporter
/// and decoded by llama.cpp through node-llama-cpp's prebuilt CPU binaries (npm package @node-llama-cpp/linux-x64,
/// which ship the library, not llama-bench). The npm packages are installed only on request, into a cache folder;
/// the product and the tests never need them.
/// </summary>
public static class LlamaCppPeer
{
    public const string NodeLlamaCppVersion = "3.22.1";
    public const string InstallCommand = "mledger bench generate --peer llama.cpp --install-peer";
    private const string Script = "llamacpp_decode.mjs";

    /// <summary>$XDG_CACHE_HOME/mledger/peers/llamacpp, or ~/.cache/... when that is unset.</summary>
    public static string Folder
    {
        get
        {
            var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(cache))
                cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "mledger", "peers", "llamacpp");
        }
    }

    /// <summary>node-llama-cpp of the pinned version is in the folder (an older install is not used: its llama.cpp
    /// differs, so its figures would not be the ones the docs name).</summary>
    public static bool IsInstalled(string folder)
    {
        var package = Path.Combine(folder, "node_modules", "node-llama-cpp", "package.json");
        return File.Exists(package)
            && JsonNode.Parse(File.ReadAllText(package))?["version"]?.GetValue<string>() == NodeLlamaCppVersion;
    }

    /// <summary><c>npm install</c> of package.json's pins. Optional packages are left out so npm does not fetch the
    /// CUDA and Vulkan builds; the CPU one is a direct dependency. No build from source: the download is
    /// skipped.</summary>
    public static void Install(string folder, Action<string> log)
    {
        Directory.CreateDirectory(folder);
        WriteResource("package.json", folder);
        log($"installing node-llama-cpp {NodeLlamaCppVersion} into {folder} (npm, about 85 MB)");
        PeerProcess.Run("npm", ["install", "--no-audit", "--no-fund", "--omit=optional"], folder, log,
            new Dictionary<string, string> { ["NODE_LLAMA_CPP_SKIP_DOWNLOAD"] = "true" });
        if (!IsInstalled(folder))
            throw new PeerException($"npm finished but node-llama-cpp {NodeLlamaCppVersion} is not in {folder}");
    }

    /// <summary>Exports <paramref name="modelDirectory"/> to a temporary GGUF of <paramref name="ggufType"/> and hands
    /// its path to <paramref name="measure"/> (the node script, llama-bench); the file is deleted afterwards.</summary>
    public static void WithGguf(string modelDirectory, GgmlType ggufType, Action<string> log, Action<string> measure)
    {
        var work = Directory.CreateTempSubdirectory("mledger-peer-").FullName;
        try
        {
            measure(ExportJob.Run(modelDirectory, null, work, ExportFormat.Gguf, ggufType, log, overwrite: true));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    public static PeerReport Run(string folder, string gguf, LlamaCppSettings settings, Action<string> log)
    {
        WriteResource(Script, folder);   // the script of this build, next to its node_modules (ESM resolves from there)
        var args = new List<string>
        {
            Script, "--model", gguf, "--prompt-tokens", Text(settings.PromptTokens),
            "--new-tokens", Text(settings.NewTokens), "--batches", string.Join(',', settings.Batches.Select(Text)),
            "--kv", string.Join(',', settings.KvTypes), "--threads", string.Join(',', settings.Threads.Select(Text)),
            "--repeats", Text(settings.Repeats),
        };
        var stdout = PeerProcess.Run("node", args, folder, log);
        try
        {
            return PeerReport.Parse(stdout);
        }
        catch (FormatException e)
        {
            throw new PeerException(e.Message, e);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void WriteResource(string name, string folder)
    {
        using var stream = typeof(LlamaCppPeer).Assembly.GetManifestResourceStream("Peers." + name)
            ?? throw new InvalidOperationException($"resource Peers.{name} is not embedded in ModelLedger.Bench");
        using var file = File.Create(Path.Combine(folder, name));
        stream.CopyTo(file);
    }
}
