using System.CommandLine;
using ModelLedger.Server;
using ModelLedger.Server.Keys;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger serve</c>: the OpenAI-compatible server over one base model and its named adapters, until
/// Ctrl+C (docs/server.md).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host")
        {
            DefaultValueFactory = _ => "127.0.0.1", Description = "Address to listen on",
        };
        var port = new Option<int>("--port") { DefaultValueFactory = _ => 8080, Description = "Port (0: a free one)" };
        var workspace = new Option<string>("--workspace")
        {
            DefaultValueFactory = _ => ".mledger", Description = "Ledger workspace folder (keys, billing)",
        };
        var db = new Option<string?>("--db")
        {
            Description = "Workspace database (SQLite path or PostgreSQL connection string)",
        };
        var model = new Option<string>("--model")
        {
            Required = true, Description = "HF model directory (served as its folder name)",
        };
        var adapters = new Option<string[]>("--adapter")
        {
            Description = "NAME=DIR: a PEFT adapter served as BASE:NAME (repeatable)",
        };
        var template = new Option<string?>("--template")
        {
            Description = "Chat template name (default: the model's own)",
        };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu", Description = "cpu or cuda" };
        var dtype = new Option<string>("--dtype")
        {
            DefaultValueFactory = _ => "float32", Description = "float32, bfloat16 or float16",
        };
        var open = new Option<bool>("--open")
        {
            Description = "No API keys and no billing (loopback only; local testing)",
        };
        var maxBody = new Option<long>("--max-body-bytes")
        {
            DefaultValueFactory = _ => 1 << 20, Description = "Largest request body",
        };
        var maxTokens = new Option<int>("--max-tokens-limit")
        {
            DefaultValueFactory = _ => 1024, Description = "Largest max_tokens a request may ask for",
        };
        var rate = new Option<int>("--rate-limit")
        {
            DefaultValueFactory = _ => 600, Description = "Requests per minute per API key",
        };
        var engine = new Option<string>("--engine")
        {
            DefaultValueFactory = _ => "batching",
            Description = "batching (continuous batching, rows with different adapters in one forward pass) or serial",
        };
        engine.AcceptOnlyFromAmong("batching", "serial");
        var command = new Command("serve", "Serve a model and its adapters over an OpenAI-compatible HTTP API")
        {
            host, port, workspace, db, model, adapters, template, device, dtype, open, maxBody, maxTokens, rate, engine,
        };
        command.Subcommands.Add(Keys());
        command.SetAction(async (p, ct) =>
        {
            var options = new ServerOptions
            {
                Host = p.GetValue(host)!, Port = p.GetValue(port), Workspace = p.GetValue(workspace)!, Db = p.GetValue(db),
                ModelDirectory = p.GetValue(model)!, Adapters = Named(p.GetValue(adapters) ?? []),
                Template = p.GetValue(template), Device = p.GetValue(device)!, DType = p.GetValue(dtype)!,
                Open = p.GetValue(open),
                Limits = new ServerLimits
                {
                    MaxBodyBytes = p.GetValue(maxBody), MaxTokens = p.GetValue(maxTokens),
                    RequestsPerMinute = p.GetValue(rate),
                },
            };
            Func<Engine.Models.PretrainedModel, Tuning.Serving.ICompletionService>? service =
                p.GetValue(engine) == "batching" ? m => new Tuning.Serving.BatchingCompletionService(m) : null;
            await using var server = await ServerHost.StartAsync(options, service, ct);
            Console.Error.WriteLine($"serving {string.Join(", ", server.Models)} on {server.Address} " +
                $"({(options.Open ? "open: no keys, no billing" : "API keys required, calls billed")}); Ctrl+C stops");
            if (!options.Open) Console.Error.WriteLine($"GUI: {server.Address} (sign in with an API key; docs/gui.md)");
            try { await server.WaitForShutdownAsync(ct); }
            catch (OperationCanceledException) { }
            Console.Error.WriteLine("stopped");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>mledger serve keys create|list|revoke</c>: API keys in the workspace database.</summary>
    private static Command Keys()
    {
        var workspace = new Option<string>("--workspace")
        {
            DefaultValueFactory = _ => ".mledger", Description = "Ledger workspace folder",
        };
        var db = new Option<string?>("--db") { Description = "Workspace database (PostgreSQL connection string)" };
        var role = new Option<string>("--role")
        {
            Required = true, Description = "admin, trainer, contributor or consumer",
        };
        var account = new Option<string>("--account")
        {
            Required = true, Description = "Ledger account the key's calls are billed to",
        };
        var create = new Command("create", "Make a key; it is printed once and stored only as a hash") { role, account };
        create.SetAction(p => WithKeys(p, workspace, db, keys =>
        {
            var parsed = ApiKeyStore.ParseRole(p.GetValue(role)!);
            var (key, text) = keys.Create(parsed, p.GetValue(account)!, DateTimeOffset.UtcNow);
            Console.Error.WriteLine($"key {key.Id} ({ApiKeyStore.RoleName(key.Role)}, bills {key.Account}); " +
                "shown once, store it now:");
            Console.WriteLine(text);
        }));
        var list = new Command("list", "List keys (ids, roles, accounts; never secrets)");
        list.SetAction(p => WithKeys(p, workspace, db, keys =>
        {
            foreach (var k in keys.List())
                Console.WriteLine($"{k.Id}  {ApiKeyStore.RoleName(k.Role),-11}  {k.Account}  {k.Created:O}" +
                    (k.Revoked ? "  revoked" : ""));
        }));
        var id = new Argument<string>("ID") { Description = "Key id (the part after mlk-)" };
        var revoke = new Command("revoke", "Revoke a key") { id };
        revoke.SetAction(p => WithKeys(p, workspace, db, keys =>
        {
            if (!keys.Revoke(p.GetValue(id)!)) throw new UserError($"no key with id '{p.GetValue(id)}'", field: "ID");
            Console.Error.WriteLine($"revoked {p.GetValue(id)}");
        }));
        var command = new Command("keys", "API keys of the server") { create, list, revoke };
        foreach (var c in new[] { create, list, revoke }) c.With([workspace, db]);
        return command;
    }

    /// <summary>Billed calls per second of ledger work under concurrent clients, one commit set per call vs group
    /// commit, on a scratch SQLite workspace (<c>mledger bench serve --billing-only</c>), then where the group-commit
    /// loop spent its time per billed request.</summary>
    internal static async Task<int> BenchBilling(int clients, int calls, int singleCalls)
    {
        if (clients < 1 || calls < 1 || singleCalls < 1)
            throw new UserError("must be ≥ 1", field: "--clients/--calls/--single-calls");
        var scratch = Directory.CreateTempSubdirectory("mledger-bench-billing-").FullName;
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        try
        {
            var load = LoadAverage();
            var (rows, stages) = await Server.Billing.BillingBenchmark.RunAsync(scratch, clients, calls, singleCalls);
            Console.WriteLine("| mode | clients | billed | seconds | billed/s | ledger groups |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var r in rows)
                Console.WriteLine(string.Create(invariant,
                    $"| {r.Mode} | {r.Clients} | {r.Billed} | {r.Seconds:F2} | {r.PerSecond:F0} | {r.Groups} |"));
            Console.WriteLine(string.Create(invariant,
                $"group commit vs one commit set per call: {rows[1].PerSecond / rows[0].PerSecond:F1}x"));
            Console.WriteLine();
            Console.WriteLine("| group commit stage | wall ms | wall µs per billed request | loop-thread CPU µs per " +
                "billed request | share of CPU |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            double n = Math.Max(1, stages.Records);
            double cpuAll = stages.Totals.Sum(t => Math.Max(0, t.Cpu.TotalMicroseconds));
            foreach (var (stage, wall, cpu) in stages.Totals)
            {
                var cpuText = cpu < TimeSpan.Zero ? "n/a" : (cpu.TotalMicroseconds / n).ToString("F1", invariant);
                var share = cpuAll > 0 ? 100 * cpu.TotalMicroseconds / cpuAll : 0;
                Console.WriteLine(string.Create(invariant, $"| {stage} | {wall.TotalMilliseconds:F1} | " +
                    $"{wall.TotalMicroseconds / n:F1} | {cpuText} | {share:F1} % |"));
            }
            if (cpuAll > 0)
                Console.WriteLine(string.Create(invariant, $"loop-thread CPU per billed request: {cpuAll / n:F1} µs, " +
                    $"so one idle core runs the loop at about {1e6 * n / cpuAll:F0} billed/s before fsync waits " +
                    $"(the CPU time does not grow with the machine's load; wall times do)"));
            Console.WriteLine(string.Create(invariant, $"durable commits (fsyncs): {stages.Commits} for " +
                $"{stages.Records} billed requests in {stages.Groups} groups ({stages.Records / Math.Max(1.0, stages.Groups):F1}" +
                $" per group; one commit per group, the reward tables projected inside it); signatures: none per " +
                $"request (checkpoints are signed on demand); load average before {load}, after {LoadAverage()}"));
        }
        finally { Directory.Delete(scratch, recursive: true); }
        return ExitCodes.Ok;
    }

    /// <summary>The 1-, 5- and 15-minute load averages (Linux), so a figure says how busy the machine was.</summary>
    private static string LoadAverage() => File.Exists("/proc/loadavg")
        ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static int WithKeys(ParseResult p, Option<string> workspace, Option<string?> db, Action<ApiKeyStore> work)
    {
        using var ws = Ledger.LedgerWorkspace.Open(p.GetValue(workspace)!, p.GetValue(db));
        using var keys = ApiKeyStore.Open(ws);
        work(keys);
        return ExitCodes.Ok;
    }

    private static Dictionary<string, string> Named(string[] specs)
    {
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            int eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new UserError($"'{spec}' is not NAME=DIR", field: "--adapter");
            if (!named.TryAdd(spec[..eq], spec[(eq + 1)..]))
                throw new UserError($"adapter name '{spec[..eq]}' is given twice", field: "--adapter");
        }
        return named;
    }
}
