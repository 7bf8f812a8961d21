using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Bench.Peers;

/// <summary>What llama-bench reported: its build, the CPU it saw, and one decode row per KV type and thread
/// count.</summary>
public sealed record LlamaBenchReport(string BuildCommit, string CpuInfo, IReadOnlyList<PeerRow> Rows);

/// <summary>
/// llama.cpp's own llama-bench next to the node peer: node-llama-cpp's per-step JavaScript makes the node script
/// understate llama.cpp on tiny models, llama-bench has no such cost. The npm package ships only the libraries, so
/// <c>--install-peer</c> compiles llama-bench from the llama.cpp source the package bundles (a git bundle) against
/// the package's prebuilt libraries: one g++ call, no cmake. Its decode ("tg") test is one sequence: batch 1 rows.
/// </summary>
public static class LlamaBench
{
    /// <summary>KV-cache types llama-bench accepts (it has no f32 cache type).</summary>
    public static readonly IReadOnlyList<string> KvTypes = ["f16", "bf16", "q8_0"];

    public static string Executable(string folder) => Path.Combine(folder, "llama-bench");

    public static bool IsBuilt(string folder) => File.Exists(Executable(folder));

    /// <summary>The folder of the package's prebuilt CPU libraries (node_modules/@node-llama-cpp/linux-x64/bins/*),
    /// or null when the package is missing.</summary>
    public static string? Libraries(string folder)
    {
        var bins = Path.Combine(folder, "node_modules", "@node-llama-cpp", "linux-x64", "bins");
        return Directory.Exists(bins)
            ? Directory.GetDirectories(bins).Order(StringComparer.Ordinal)
                .FirstOrDefault(d => File.Exists(Path.Combine(d, "libllama-common.so")))
            : null;
    }

    /// <summary>Clones the bundled source (once) and compiles llama-bench into <paramref name="folder"/>.</summary>
    public static void Build(string folder, Action<string> log)
    {
        var libraries = Libraries(folder)
            ?? throw new PeerException($"node-llama-cpp's prebuilt libraries are not in {folder}: install it first");
        var bundle = Path.Combine(folder, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");
        var source = Path.Combine(folder, "llama.cpp");
        if (!Directory.Exists(Path.Combine(source, "tools", "llama-bench")))
        {
            if (Directory.Exists(source)) Directory.Delete(source, recursive: true);
            log($"llama-bench: unpacking node-llama-cpp's llama.cpp source into {source}");
            PeerProcess.Run("git", ["-c", "advice.detachedHead=false", "clone", "--quiet", bundle, source], folder,
                log, needs: "llama-bench is built from a git bundle (apt-get install git)");
        }
        log("llama-bench: compiling with g++ against the package's libraries (about a minute)");
        PeerProcess.Run("g++", CompileArguments(source, libraries, Executable(folder)), folder, log,
            needs: "llama-bench is compiled with g++ (apt-get install g++); the node rows still run");
        if (!IsBuilt(folder)) throw new PeerException($"g++ finished but {Executable(folder)} is not there");
    }

    /// <summary>g++ arguments: llama-bench's two sources, optimised without asserts as llama.cpp's release build,
    /// linked against every llama and ggml library of <paramref name="libraries"/> except the CPU backends (ggml
    /// loads the one that fits the CPU at run time), found there again at run time (rpath).</summary>
    public static IReadOnlyList<string> CompileArguments(string source, string libraries, string output)
    {
        var args = new List<string> { "-O2", "-DNDEBUG", "-std=c++17", "-pthread" };
        var tool = Path.Combine(source, "tools", "llama-bench");
        string[] includes = ["common", "include", Path.Combine("ggml", "include"), tool];
        args.AddRange(includes.Select(d => "-I" + Path.Combine(source, d)));
        args.AddRange([Path.Combine(tool, "llama-bench.cpp"), Path.Combine(tool, "main.cpp")]);
        args.AddRange(["-o", output]);
        args.AddRange(Directory.GetFiles(libraries, "*.so").Select(Path.GetFileName).OfType<string>()
            .Where(f => (f.StartsWith("libllama", StringComparison.Ordinal)
                    || f.StartsWith("libggml", StringComparison.Ordinal))
                && !f.StartsWith("libggml-cpu", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).Select(f => Path.Combine(libraries, f)));
        args.Add("-Wl,-rpath," + libraries);
        return args;
    }

    /// <summary>llama-bench's arguments for one KV type: decode only (-p 0) of <paramref name="newTokens"/> after
    /// <paramref name="depth"/> tokens already in the cache (our prompt), on each thread count.</summary>
    public static IReadOnlyList<string> RunArguments(string gguf, int depth, int newTokens, string kv,
        IEnumerable<int> threads, int repeats) =>
        ["-m", gguf, "-p", "0", "-n", Text(newTokens), "-d", Text(depth), "-t", string.Join(',', threads.Select(Text)),
            "-ctk", kv, "-ctv", kv, "-r", Text(repeats), "-o", "json"];

    /// <summary>Runs llama-bench once per KV type it accepts (one type per run: a list would run every K × V
    /// pair). Its working directory is the libraries' folder, where ggml looks for its CPU backends.</summary>
    public static LlamaBenchReport Run(string folder, string gguf, LlamaCppSettings settings, Action<string> log)
    {
        var libraries = Libraries(folder) ?? throw new PeerException($"node-llama-cpp is not installed in {folder}");
        var kvTypes = settings.KvTypes.Where(KvTypes.Contains).ToList();
        if (kvTypes.Count == 0)
            throw new PeerException($"llama-bench has no KV type of {string.Join(',', settings.KvTypes)} (it has "
                + $"{string.Join(", ", KvTypes)})");
        LlamaBenchReport? all = null;
        foreach (var kv in kvTypes)
        {
            var stdout = PeerProcess.Run(Executable(folder), RunArguments(gguf, settings.PromptTokens,
                settings.NewTokens, kv, settings.Threads, settings.Repeats), libraries, log, needs: "rebuild it");
            LlamaBenchReport report;
            try
            {
                report = Parse(stdout);
            }
            catch (FormatException e)
            {
                throw new PeerException(e.Message, e);
            }
            all = all is null ? report : all with { Rows = [.. all.Rows, .. report.Rows] };
        }
        return all!;
    }

    /// <summary>Decode ("tg": no prompt, n_gen tokens) rows of llama-bench's <c>-o json</c> array, each at its
    /// fastest repetition (as the node peer and our rows keep their fastest run).</summary>
    /// <exception cref="FormatException">Not a JSON array of tests, or no decode test with positive rates.</exception>
    public static LlamaBenchReport Parse(string stdout)
    {
        JsonArray tests;
        try
        {
            tests = JsonNode.Parse(stdout) as JsonArray
                ?? throw new FormatException("llama-bench printed no JSON array");
        }
        catch (JsonException e)
        {
            throw new FormatException($"llama-bench's output is not JSON: {e.Message}", e);
        }
        var rows = new List<PeerRow>();
        foreach (var test in tests.OfType<JsonObject>())
        {
            if (Int(test, "n_prompt") != 0 || Int(test, "n_gen") <= 0) continue;
            var samples = test["samples_ns"] as JsonArray ?? throw new FormatException("a test without samples_ns");
            double seconds = samples.Select(s => s!.GetValue<double>()).DefaultIfEmpty(0).Min() / 1e9;
            int tokens = Int(test, "n_gen");
            if (!(seconds > 0)) throw new FormatException("a llama-bench test has no positive time");
            rows.Add(new PeerRow("decode", 1, Str(test, "type_k"), Int(test, "n_threads"), tokens, seconds,
                tokens / seconds));
        }
        if (rows.Count == 0) throw new FormatException("llama-bench reported no decode test");
        var first = tests.OfType<JsonObject>().First();
        return new LlamaBenchReport(Str(first, "build_commit"), Str(first, "cpu_info"), rows);
    }

    private static int Int(JsonObject o, string name) =>
        o[name]?.GetValue<int>() ?? throw new FormatException($"a llama-bench test has no {name}");

    private static string Str(JsonObject o, string name) =>
        o[name]?.GetValue<string>() ?? throw new FormatException($"a llama-bench test has no {name}");

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
