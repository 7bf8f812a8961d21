using System.CommandLine;
using System.Globalization;
using ModelLedger.Bench;
using ModelLedger.Bench.Peers;
using ModelLedger.Tuning.Export;
using Spectre.Console;

namespace ModelLedger.Cli.Commands;

/// <summary><c>bench generate --peer llama.cpp</c>: the peer decodes the same model (exported to GGUF) in the same run
/// and its rows print next to ours with the ratio: node-llama-cpp's script and, when built, llama.cpp's own
/// llama-bench (batch 1). A missing peer is one line telling how to install it, never a failure; a peer that fails to
/// build or run is one line too, our rows and the other peer's stand.</summary>
internal sealed class BenchPeerOptions
{
    private static readonly string[] KvTypes = ["f16", "f32", "bf16", "q8_0"];

    public readonly Option<string?> Peer = new("--peer")
        { Description = "Also measure a peer on the same model in this run: llama.cpp (needs Node.js 20+)" };
    public readonly Option<bool> Install = new("--install-peer")
        { Description = "Install the peer first if missing (npm, then llama-bench with g++; ~/.cache/mledger/peers)" };
    public readonly Option<string> GgufType = new("--peer-gguf-type")
        { DefaultValueFactory = _ => "f32", Description = "The GGUF the peer decodes: f32, f16 or q8_0" };
    public readonly Option<string> Kv = new("--peer-kv")
    {
        DefaultValueFactory = _ => "f16,f32",
        Description = "The peer's KV-cache types, comma-separated: f16 (llama.cpp's default), f32, bf16, q8_0",
    };
    public readonly Option<int> Repeats = new("--peer-repeats")
        { DefaultValueFactory = _ => 3, Description = "The peer's runs per row (the fastest is kept)" };

    public IEnumerable<Option> All => [Peer, Install, GgufType, Kv, Repeats];

    /// <summary>Checks the flags before our rows are measured and installs the peer when asked.</summary>
    public void Prepare(ParseResult p)
    {
        if (p.GetValue(Peer) is not string peer)
        {
            if (p.GetValue(Install))
                throw new UserError("--install-peer needs --peer llama.cpp", field: "--install-peer");
            return;
        }
        if (peer != "llama.cpp") throw new UserError($"unknown peer '{peer}'", field: "--peer", hint: "use llama.cpp");
        _ = Type(p);
        _ = KvList(p);
        if (p.GetValue(Repeats) < 1) throw new UserError("must be ≥ 1", field: "--peer-repeats");
        if (!p.GetValue(Install)) return;
        var folder = LlamaCppPeer.Folder;
        if (!LlamaCppPeer.IsInstalled(folder)) Guard(() => LlamaCppPeer.Install(folder, Console.Error.WriteLine));
        if (LlamaCppPeer.IsInstalled(folder) && !LlamaBench.IsBuilt(folder))
            Guard(() => LlamaBench.Build(folder, Console.Error.WriteLine), "llama-bench");
    }

    public void RunBeside(ParseResult p, string modelDirectory, int promptTokens, int newTokens, int batch,
        IReadOnlyList<BenchRow> ours)
    {
        if (p.GetValue(Peer) is null) return;
        var folder = LlamaCppPeer.Folder;
        if (!LlamaCppPeer.IsInstalled(folder))
        {
            AnsiConsole.MarkupLine(Markup.Escape($"llama.cpp peer not installed (node-llama-cpp "
                + $"{LlamaCppPeer.NodeLlamaCppVersion} in {folder}); install it with: {LlamaCppPeer.InstallCommand}"));
            return;
        }
        // 1 thread and all cores: on a loaded machine ggml's spinning barriers make 2 threads far slower than 1.
        var threads = new[] { 1, Environment.ProcessorCount }.Distinct().ToList();
        var settings = new LlamaCppSettings(promptTokens, newTokens, new[] { 1, batch }.Distinct().ToList(),
            KvList(p), threads, p.GetValue(Repeats));
        Action<string> log = Console.Error.WriteLine;
        LlamaCppPeer.WithGguf(modelDirectory, Type(p), log, gguf =>
        {
            PeerReport? node = null;
            LlamaBenchReport? bench = null;
            Guard(() => node = LlamaCppPeer.Run(folder, gguf, settings, log));
            if (LlamaBench.IsBuilt(folder))
                Guard(() => bench = LlamaBench.Run(folder, gguf, settings, log), "llama-bench");
            else
                AnsiConsole.MarkupLine(Markup.Escape($"llama-bench not built in {folder}; build it with: "
                    + LlamaCppPeer.InstallCommand));
            Render(node, bench, p.GetValue(GgufType)!, ours);
        });
    }

    private static void Render(PeerReport? node, LlamaBenchReport? bench, string ggufType, IReadOnlyList<BenchRow> ours)
    {
        if (node is not null)
            AnsiConsole.MarkupLine(Markup.Escape($"peer: {node.LlamaCpp} ({node.Build}) through node-llama-cpp "
                + $"{node.NodeLlamaCpp}, GGUF {ggufType} from mledger export, best of {node.Repeats} runs and of 1 or "
                + $"all threads; {node.SystemInfo}"));
        if (bench is not null)
            AnsiConsole.MarkupLine(Markup.Escape($"llama-bench: build {bench.BuildCommit} on {bench.CpuInfo}, "
                + $"GGUF {ggufType} from mledger export, decode after the prompt's tokens (-p 0 -d prompt), fastest "
                + "repetition, best of 1 or all threads"));
        var rows = PeerComparison.Beside(ours, node?.Rows ?? [], bench?.Rows ?? []);
        if (rows.Count == 0) return;
        var table = new Table().AddColumns("scenario", "batch", "ours tokens/s", "llama.cpp weights",
            "llama.cpp KV", "llama.cpp via", "threads", "llama.cpp tokens/s", "ours / llama.cpp");
        foreach (var (peer, r) in rows)
            table.AddRow(r.Scenario, Text(r.Batch), Number(r.Ours, "F1"), ggufType, r.PeerKvType, peer,
                Text(r.PeerThreads), Number(r.Peer, "F1"), Number(r.Ratio, "F2") + "x");
        AnsiConsole.Write(table);
    }

    private static void Guard(Action peer, string name = "llama.cpp peer")
    {
        try
        {
            peer();
        }
        catch (PeerException e)
        {
            AnsiConsole.MarkupLine($"{name} failed: {Markup.Escape(e.Message)}");
        }
    }

    private GgmlType Type(ParseResult p) => p.GetValue(GgufType)!.ToLowerInvariant() switch
    {
        "f32" => GgmlType.F32,
        "f16" => GgmlType.F16,
        "q8_0" => GgmlType.Q8_0,
        var other => throw new UserError($"unknown GGUF type '{other}'", field: "--peer-gguf-type",
            hint: "use f32, f16 or q8_0"),
    };

    private IReadOnlyList<string> KvList(ParseResult p)
    {
        var kv = p.GetValue(Kv)!.Split(',',
            StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var bad = kv.FirstOrDefault(k => !KvTypes.Contains(k));
        if (kv.Length == 0 || bad is not null)
            throw new UserError($"unknown KV-cache type '{bad}'", field: "--peer-kv",
                hint: "use f16, f32, bf16 or q8_0, comma-separated");
        return kv;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
