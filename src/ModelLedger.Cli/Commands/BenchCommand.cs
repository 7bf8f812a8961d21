using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Bench;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Runtime;
using Spectre.Console;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger bench &lt;area&gt;</c>: measured throughput as ratios against this machine's matmul peak.</summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Benchmarks that print ratios measured in one run")
    {
        Generate(), Finetune(), FinetuneOne(), LedgerVerb(), Intake(), BenchAttributionCommand.Create(),
        SpansCommand.BenchVerb(), RagCommand.BenchVerb(), Gaming(),
        BenchServeCommand.Create(),
    };

    /// <summary>The bundled TinyStories-656K (copied beside the CLI): the gaming benchmark's default world runs real
    /// intake and real RAG on it.</summary>
    internal static string BundledTinyModel => Path.Combine(AppContext.BaseDirectory, "models", "TinyStories-656K");

    private static Command Gaming()
    {
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var inferences = new Option<int>("--inferences") { DefaultValueFactory = _ => 600, Description = "Metered inferences (two epochs)" };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var model = new Option<string?>("--model") { Description = "Tiny model for real intake + RAG ablation (default: the bundled TinyStories-656K)" };
        var simulated = new Option<bool>("--simulated") { Description = "The simulated world instead: intake outcomes and retrieval effects drawn from the population model, no model" };
        var command = new Command("gaming", "Rewards gaming simulation: adversaries' share and honest rank correlation") { seed, inferences, model, simulated, json };
        command.SetAction((p, _) =>
        {
            if (p.GetValue(simulated) && p.GetValue(model) is not null)
                throw new UserError("--simulated runs without a model; drop --model or --simulated", field: "--model");
            var modelDir = p.GetValue(simulated) ? null : p.GetValue(model) ?? BundledTinyModel;
            using var work = new TempFolder();
            var report = GamingBenchmark.Run(p.GetValue(seed), work.Path, p.GetValue(inferences), Console.Error.WriteLine,
                modelDir);
            Console.WriteLine(p.GetValue(json) ? JsonSerializer.Serialize(report) : GamingBenchmark.Markdown(report));
            return Task.FromResult(report.Verified ? ExitCodes.Ok : ExitCodes.VerificationFailed);
        });
        return command;
    }

    private static Command LedgerVerb()
    {
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string to measure as well" };
        var sizes = new Option<string>("--sizes") { DefaultValueFactory = _ => "1000,10000,100000,1000000", Description = "Log sizes for the proof rows" };
        var report = new Option<string?>("--report") { Description = "Also write the tables as markdown to this file" };
        var faults = new Option<int?>("--fault-injection") { Description = "Instead: N random mutations of a SQLite ledger, each judged by verify" };
        var command = new Command("ledger", "Ledger appends, transfers, proofs and verify throughput") { postgres, sizes, report, faults };
        command.SetAction((p, _) =>
        {
            using var work = new TempFolder();
            var sizeList = p.GetValue(sizes)!.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
            var (markdown, ok) = p.GetValue(faults) is int n ? LedgerBenchmark.FaultInjection(work.Path, n, Console.Error.WriteLine)
                : (LedgerBenchmark.Run(work.Path, p.GetValue(postgres), sizeList, Console.Error.WriteLine), true);
            Console.WriteLine(markdown);
            if (p.GetValue(report) is string file) File.WriteAllText(file, markdown);
            return Task.FromResult(ok ? ExitCodes.Ok : ExitCodes.VerificationFailed);
        });
        return command;
    }

    private static Command Intake()
    {
        var items = new Option<int>("--items") { DefaultValueFactory = _ => 100_000, Description = "Records in the submission" };
        var quality = new Option<int>("--populations") { DefaultValueFactory = _ => 8, Description = "Gaming populations (and 250 adgen records each) for the near-duplicate recall / false-positive table (0: skip it)" };
        var command = new Command("intake", "Datanet intake end to end: items/s, dedup index bytes per item, near-duplicate recall and false positives") { items, quality };
        command.SetAction((p, _) =>
        {
            using var work = new TempFolder();
            if (p.GetValue(quality) > 0)
                Console.WriteLine(IntakeDedupQuality.Markdown(IntakeDedupQuality.Run(Path.Combine(work.Path, "quality"), p.GetValue(quality), 250 * p.GetValue(quality), Console.Error.WriteLine)) + "\n");
            if (p.GetValue(items) > 0)
                Console.WriteLine(IntakeBenchmark.Markdown(IntakeBenchmark.Run(work.Path, p.GetValue(items), Console.Error.WriteLine)));
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static Command Finetune()
    {
        var model = new Option<string>("--model") { Required = true, Description = "HF model directory" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 6 };
        var sequence = new Option<int>("--seq") { DefaultValueFactory = _ => 256 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 4 };
        var methods = new Option<string>("--methods") { DefaultValueFactory = _ => string.Join(",", FinetuneBenchmark.Methods) };
        var report = new Option<string?>("--report") { Description = "Also write the table as markdown to this file" };
        var adgen = new Option<int?>("--adgen-seconds") { Description = "Instead: sft on the ad dataset for this many seconds per method, then ROUGE-L/BLEU-4 on its test split" };
        var peer = new Option<string?>("--peer")
            { Description = "Also train full, lora and ptuning with this peer, each right after ours: pytorch" };
        const string about = "Full, freeze, LoRA, QLoRA-NF4 and P-Tuning v2 on the same data and steps";
        var command = new Command("finetune", about)
            { model, steps, sequence, batch, methods, report, adgen, peer };
        command.SetAction((p, ct) =>
        {
            if (p.GetValue(peer) is string named && named != FinetunePeer.Name)
            {
                Console.Error.WriteLine($"error: unknown peer '{named}' (known: {FinetunePeer.Name})");
                return Task.FromResult(ExitCodes.UserError);
            }
            var methodList = FinetuneBenchmark.ParseMethods(p.GetValue(methods)!);
            bool peered = p.GetValue(peer) is not null && p.GetValue(adgen) is null;
            if (peered && FinetunePeer.Missing() is string missing)
            {
                Console.Error.WriteLine(missing);
                peered = false;
            }
            double peak = MatmulPeak.Measure(TorchSharp.torch.CPU);
            Console.Error.WriteLine($"fp32 matmul peak: {peak:F1} GFLOP/s");
            var rows = new List<FinetuneRow>();
            var peers = new List<PyTorchRow>();
            using var work = new TempFolder();
            foreach (var method in methodList)
            {
                ct.ThrowIfCancellationRequested();
                Console.Error.WriteLine(p.GetValue(adgen) is int budget
                    ? $"{method}: sft on the ad dataset for {budget} s, then scoring the test split ..."
                    : $"{method}: training {p.GetValue(steps)} steps of {p.GetValue(batch)} x {p.GetValue(sequence)} tokens ...");
                string[] args = ["bench", "finetune-one", "--method", method, "--model", p.GetValue(model)!, "--steps", $"{p.GetValue(steps)}",
                    "--seq", $"{p.GetValue(sequence)}", "--batch", $"{p.GetValue(batch)}", "--work", Path.Combine(work.Path, method)];
                var child = ChildProcess.RunSelf(p.GetValue(adgen) is int s ? [.. args, "--adgen-seconds", $"{s}"] : args);
                rows.Add(JsonSerializer.Deserialize<FinetuneRow>(child)!);
                if (!peered || !FinetunePeer.Methods.Contains(method)) continue;
                Console.Error.WriteLine($"{method}: the PyTorch peer, same shape and steps ...");
                if (FinetunePeer.Run(method, p.GetValue(model)!, p.GetValue(steps), p.GetValue(sequence),
                        p.GetValue(batch), Console.Error.WriteLine) is { } peerRow)
                    peers.Add(peerRow);
            }
            var markdown = FinetuneReport.Markdown(rows, peak, p.GetValue(model)!, p.GetValue(steps),
                p.GetValue(sequence), p.GetValue(batch), peers);
            Console.WriteLine(markdown);
            if (p.GetValue(report) is string file) File.WriteAllText(file, markdown);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>The child side of <c>bench finetune</c>: one method in a fresh process, one JSON row on stdout.</summary>
    private static Command FinetuneOne()
    {
        var method = new Option<string>("--method") { Required = true };
        var model = new Option<string>("--model") { Required = true };
        var steps = new Option<int>("--steps") { Required = true };
        var sequence = new Option<int>("--seq") { Required = true };
        var batch = new Option<int>("--batch") { Required = true };
        var work = new Option<string>("--work") { Required = true };
        var adgen = new Option<int?>("--adgen-seconds");
        var command = new Command("finetune-one", "(internal) one method of bench finetune, in its own process") { method, model, steps, sequence, batch, work, adgen };
        command.Hidden = true;
        command.SetAction((p, _) =>
        {
            Directory.CreateDirectory(p.GetValue(work)!);
            var row = FinetuneBenchmark.RunOne(p.GetValue(method)!, p.GetValue(model)!, p.GetValue(steps), p.GetValue(sequence), p.GetValue(batch), p.GetValue(work)!, p.GetValue(adgen));
            Console.WriteLine(JsonSerializer.Serialize(row));
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static Command Generate()
    {
        var model = new ModelOptions();
        var promptLength = new Option<int>("--prompt-tokens") { DefaultValueFactory = _ => 128 };
        var newTokens = new Option<int>("--new-tokens") { DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8, Description = "Batch size of the batched decode row" };
        var output = new Option<string?>("--out") { Description = "Also write the rows as JSON to this file" };
        var kvCache = new Option<string>("--kv-cache-dtype")
        {
            DefaultValueFactory = _ => "float16",
            Description = "KV cache dtype of the rows next to the fp32 cache's: float32, float16 or bfloat16",
        };
        var command = new Command("generate", "Prefill and decode tokens/s with and without the KV cache")
        {
            promptLength, newTokens, batch, output, kvCache,
        };
        command.With(model.All);
        var peer = new BenchPeerOptions();   // the llama.cpp peer: BenchPeerOptions.cs
        command.With(peer.All);
        command.SetAction((p, _) =>
        {
            peer.Prepare(p);
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            if (p.GetValue(newTokens) < 2) throw new UserError("must be ≥ 2", field: "--new-tokens");
            var kv = KvCacheDType.Parse(p.GetValue(kvCache)!, "--kv-cache-dtype");
            var (peak, read, rows) = GenerateBenchmark.Run(loaded, p.GetValue(promptLength), p.GetValue(newTokens),
                p.GetValue(batch), kv, Console.Error.WriteLine);
            var table = new Table().AddColumns("scenario", "batch", "tokens/s", "model GFLOP/s", "of matmul peak",
                "weights GB/s", "vs f32 C# step");
            var invariant = CultureInfo.InvariantCulture;
            foreach (var r in rows)
                table.AddRow(r.Scenario, r.Batch.ToString(invariant), r.TokensPerSecond.ToString("F1", invariant),
                    r.ModelGflops.ToString("F1", invariant), r.OfPeak.ToString("P1", invariant),
                    r.WeightGBps?.ToString("F1", invariant) ?? "",
                    GenerateBenchmark.VersusFp32Step(r, rows) is double v ? v.ToString("F2", invariant) + "x" : "");
            AnsiConsole.MarkupLine($"model: {Markup.Escape(loaded.Directory)} ({loaded.Network.ParameterCount():N0} parameters, {loaded.Device}, {loaded.Network.DType})");
            AnsiConsole.MarkupLine($"measured fp32 matmul peak: {peak:F1} GFLOP/s on {Environment.ProcessorCount} cores");
            AnsiConsole.MarkupLine($"malloc: {MallocLibrary.InUse()}");
            AnsiConsole.MarkupLine(
                $"measured memory read (C# loop): {read:F1} GB/s on {ReadBandwidth.Threads} threads");
            AnsiConsole.Write(table);
            peer.RunBeside(p, loaded.Directory, p.GetValue(promptLength), p.GetValue(newTokens), p.GetValue(batch), rows);
            if (p.GetValue(output) is string file)
                File.WriteAllText(file, JsonSerializer.Serialize(new
                {
                    machine = Environment.MachineName, cores = Environment.ProcessorCount, peak_gflops = peak,
                    read_gbps = read, rows,
                }));
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
