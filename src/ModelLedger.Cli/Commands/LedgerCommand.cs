using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Log;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger ledger …</c>: the verifiable log and reward accounts. Each verb opens the workspace, makes one
/// ledger call and prints the result (JSON where asked).</summary>
internal static class LedgerCommand
{
    private static readonly Option<string> Workspace = new("--workspace") { DefaultValueFactory = _ => ".mledger", Description = "Ledger workspace folder" };
    private static readonly Option<string?> Db = new("--db") { Description = "PostgreSQL connection string (default: SQLite in the workspace)" };
    private static readonly Option<bool> Json = new("--json") { Description = "One JSON object on stdout" };

    public static Command Create()
    {
        var account = new Command("account", "Reward accounts") { AccountCreate() };
        return new Command("ledger", "The verifiable attribution ledger")
        {
            Init(), Key(), Append(), account, TransferVerb(), Balances(), CheckpointVerb(), Export(), Prove(), ConsistencyVerb(), Verify(), Show(),
            StressAppend(),
        };
    }

    private static Command Verb(string name, string description, Func<ParseResult, LedgerWorkspace, int> action, params Option[] options)
    {
        var command = new Command(name, description) { Workspace, Db };
        foreach (var o in options) command.Options.Add(o);
        command.SetAction((p, _) =>
        {
            using var ws = LedgerWorkspace.Open(p.GetValue(Workspace)!, p.GetValue(Db));
            return Task.FromResult(action(p, ws));
        });
        return command;
    }

    private static Command Init()
    {
        var origin = new Option<string>("--origin") { Required = true, Description = "Log origin (also the key name), e.g. example.org/ledger" };
        var command = new Command("init", "Create a workspace and its log key") { Workspace, Db, origin };
        command.SetAction((p, _) =>
        {
            using var ws = LedgerWorkspace.Init(p.GetValue(Workspace)!, p.GetValue(origin)!, p.GetValue(Db));
            Console.Error.WriteLine($"initialised {ws.Directory} (origin {ws.Origin}); verifier key:");
            Console.WriteLine(ws.Signer.VerifierKey);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static Command Key() => Verb("key", "Print the log's verifier key", (_, ws) => { Console.WriteLine(ws.Signer.VerifierKey); return ExitCodes.Ok; });

    private static Command Append()
    {
        var type = new Option<string>("--type") { Required = true };
        var payload = new Option<string>("--payload") { Required = true, Description = "Payload JSON object (kept verbatim in the leaf)" };
        var actor = new Option<string>("--actor") { DefaultValueFactory = _ => Environment.UserName };
        var id = new Option<string?>("--id") { Description = "Client id: resubmitting the same id and content is a no-op" };
        return Verb("append", "Append an event", (p, ws) =>
        {
            var r = ws.Service.Append(p.GetValue(type)!, p.GetValue(actor)!, p.GetValue(payload)!, p.GetValue(id));
            PrintAppend(r, p.GetValue(Json));
            return ExitCodes.Ok;
        }, type, payload, actor, id, Json);
    }

    private static Command AccountCreate()
    {
        var id = new Option<string>("--id") { Required = true };
        var negative = new Option<bool>("--allow-negative") { Description = "May go below zero (a mint or treasury)" };
        return Verb("create", "Create an account", (p, ws) =>
        {
            var r = ws.Service.CreateAccount(p.GetValue(id)!, p.GetValue(negative));
            PrintAppend(r, p.GetValue(Json));
            return ExitCodes.Ok;
        }, id, negative, Json);
    }

    private static Command TransferVerb()
    {
        var id = new Option<string?>("--id");
        var debit = new Option<string?>("--debit");
        var credit = new Option<string?>("--credit");
        var amount = new Option<string?>("--amount") { Description = "Unsigned integer in the smallest unit (up to 2^128-1)" };
        var file = new Option<string?>("--file") { Description = "JSON array of {id, debit, credit, amount}: linked, all or nothing" };
        return Verb("transfer", "Move an amount from one account to another (double entry)", (p, ws) =>
        {
            var transfers = p.GetValue(file) is string path ? ReadTransfers(path)
                : [new Transfer(p.GetValue(id) ?? throw new LedgerError("--id is required (or --file)"), p.GetValue(debit) ?? throw new LedgerError("--debit is required"),
                    p.GetValue(credit) ?? throw new LedgerError("--credit is required"), ParseAmount(p.GetValue(amount) ?? throw new LedgerError("--amount is required")))];
            var results = ws.Service.Transfer(transfers);
            if (p.GetValue(Json) && results.Count == 1) PrintAppend(results[0], true);
            else if (p.GetValue(Json)) Console.WriteLine(JsonSerializer.Serialize(results.Select(AppendJson)));
            else foreach (var r in results) PrintAppend(r, false);
            return ExitCodes.Ok;
        }, id, debit, credit, amount, file, Json);
    }

    private static Command Balances() => Verb("balances", "Account balances (credits − debits)", (p, ws) =>
    {
        var accounts = ws.Store.ReadAccounts();
        if (p.GetValue(Json))
            Console.WriteLine(new JsonObject
            {
                ["accounts"] = new JsonArray(accounts.Select(a => (JsonNode)new JsonObject
                {
                    ["id"] = a.Id, ["debits_posted"] = a.DebitsPosted.ToString(CultureInfo.InvariantCulture),
                    ["credits_posted"] = a.CreditsPosted.ToString(CultureInfo.InvariantCulture), ["balance"] = a.Balance.ToString(CultureInfo.InvariantCulture),
                    ["allow_negative"] = a.AllowNegative,
                }).ToArray()),
            }.ToJsonString());
        else foreach (var a in accounts) Console.WriteLine($"{a.Id}\t{a.Balance}");
        return ExitCodes.Ok;
    }, Json);

    private static Command CheckpointVerb() => Verb("checkpoint", "Sign and print a checkpoint (C2SP signed note)", (_, ws) =>
    {
        Console.Write(ws.Service.Checkpoint(ws.Signer, ws.Origin));
        return ExitCodes.Ok;
    });

    private static Command Export()
    {
        var output = new Option<string>("--out") { Required = true };
        return Verb("export", "Every entry as JSON lines {index, leaf (base64), event}", (p, ws) =>
        {
            using var writer = new StreamWriter(p.GetValue(output)!, false, new UTF8Encoding(false));
            long n = 0;
            foreach (var (index, leaf) in ws.Store.ReadEntries(0))
            {
                var line = new JsonObject { ["index"] = index, ["leaf"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(leaf)), ["event"] = JsonNode.Parse(leaf) };
                writer.WriteLine(line.ToJsonString());
                n++;
            }
            Console.Error.WriteLine($"exported {n} entries to {p.GetValue(output)}");
            return ExitCodes.Ok;
        }, output);
    }

    private static Command Prove()
    {
        var index = new Option<long>("--index") { Required = true };
        var size = new Option<long?>("--size") { Description = "Tree size (default: the current log)" };
        return Verb("prove", "Inclusion proof of an entry (RFC 9162)", (p, ws) =>
        {
            long treeSize = p.GetValue(size) ?? ws.Service.Size;
            var (leafHash, path, root) = ws.Service.Prove(p.GetValue(index), treeSize);
            Console.WriteLine(new JsonObject
            {
                ["index"] = p.GetValue(index), ["tree_size"] = treeSize, ["leaf_hash"] = Hex(leafHash),
                ["path"] = new JsonArray(path.Select(h => (JsonNode)Hex(h)).ToArray()), ["root"] = Hex(root),
            }.ToJsonString());
            return ExitCodes.Ok;
        }, index, size, Json);
    }

    private static Command ConsistencyVerb()
    {
        var from = new Option<long>("--from") { Required = true };
        var to = new Option<long>("--to") { Required = true };
        return Verb("consistency", "Consistency proof between two tree sizes (RFC 9162)", (p, ws) =>
        {
            var (path, fromRoot, toRoot) = ws.Service.Consistency(p.GetValue(from), p.GetValue(to));
            Console.WriteLine(new JsonObject
            {
                ["from"] = p.GetValue(from), ["to"] = p.GetValue(to), ["path"] = new JsonArray(path.Select(h => (JsonNode)Hex(h)).ToArray()),
                ["from_root"] = Hex(fromRoot), ["to_root"] = Hex(toRoot),
            }.ToJsonString());
            return ExitCodes.Ok;
        }, from, to, Json);
    }

    private static Command Verify()
    {
        var from = new Option<string?>("--from-checkpoint") { Description = "A signed checkpoint the log must extend" };
        return Verb("verify", "Replay and check the whole log", (p, ws) =>
        {
            var note = p.GetValue(from) is string f ? File.Exists(f) ? File.ReadAllText(f) : throw new LedgerError($"{f}: checkpoint file not found") : null;
            var report = LedgerVerifier.Verify(ws.Store, NoteVerifier.Parse(ws.Signer.VerifierKey), note);
            if (report.Ok)
            {
                Console.WriteLine($"ok: {report.Entries} entries, {report.Checkpoints} checkpoints, {report.Accounts} accounts; root {Hex(ws.Service.Root(report.Entries))}");
                return ExitCodes.Ok;
            }
            Console.Error.WriteLine(report.FirstBadIndex is long bad ? $"error: verification failed; first bad entry: {bad}" : "error: verification failed");
            foreach (var problem in report.Problems.Take(20)) Console.Error.WriteLine($"  {problem}");
            return ExitCodes.VerificationFailed;
        }, from);
    }

    private static Command Show()
    {
        var index = new Option<long>("--index") { Required = true };
        return Verb("show", "An entry and the entries it references", (p, ws) =>
        {
            var (entry, leaf, hash) = ws.Service.Read(p.GetValue(index));
            Console.WriteLine($"entry {p.GetValue(index)}  leaf_hash {Hex(hash)}");
            Console.WriteLine(leaf);
            foreach (var r in entry.Refs)
            {
                var at = ws.Service.IndexOf(r);
                Console.WriteLine(at is long i ? $"  references entry {i} ({ws.Service.Read(i).Entry.Type}) {r}" : $"  references unknown {r}");
            }
            return ExitCodes.Ok;
        }, index);
    }

    /// <summary>(internal) Appends entries with client ids PREFIX-0.. and prints "ack ID INDEX" after each one is durable:
    /// the durability tests kill this process at random points and check every acknowledged entry survived.</summary>
    private static Command StressAppend()
    {
        var count = new Option<int>("--count") { Required = true };
        var prefix = new Option<string>("--prefix") { Required = true };
        var command = Verb("stress-append", "(internal) append in a loop, acknowledging each durable entry", (p, ws) =>
        {
            for (int i = 0; i < p.GetValue(count); i++)
            {
                var id = $"{p.GetValue(prefix)}-{i}";
                var r = ws.Service.Append("epoch.closed", "stress", $$"""{"epoch": {{i}}, "writer": "{{p.GetValue(prefix)}}"}""", id);
                Console.Out.WriteLine($"ack {id} {r.Index}");
                Console.Out.Flush();
            }
            return ExitCodes.Ok;
        }, count, prefix);
        command.Hidden = true;
        return command;
    }

    private static void PrintAppend(AppendResult r, bool json)
    {
        if (json) Console.WriteLine(AppendJson(r).ToJsonString());
        else Console.WriteLine(r.Status == AppendStatus.Exists ? $"exists: index {r.Index}" : $"appended: index {r.Index}, tree size {r.TreeSize}");
    }

    private static JsonObject AppendJson(AppendResult r) => new()
    {
        ["index"] = r.Index, ["leaf_hash"] = r.LeafHash, ["tree_size"] = r.TreeSize, ["status"] = r.Status == AppendStatus.Exists ? "exists" : "appended",
    };

    private static UInt128 ParseAmount(string text) =>
        UInt128.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
            : throw new LedgerError($"amount must be a non-negative integer in the smallest unit, at most 2^128-1 (got '{text}')");

    private static List<Transfer> ReadTransfers(string path)
    {
        if (!File.Exists(path)) throw new LedgerError($"{path}: file not found");
        try
        {
            var array = JsonNode.Parse(File.ReadAllText(path)) as JsonArray ?? throw new LedgerError($"{path}: expected a JSON array of transfers");
            return array.Select((n, i) =>
            {
                var o = n as JsonObject ?? throw new LedgerError($"{path}: transfer {i + 1} is not an object");
                string Field(string k) => o[k] is JsonValue v ? v.ToString() : throw new LedgerError($"{path}: transfer {i + 1}: {k} is missing");
                return new Transfer(Field("id"), Field("debit"), Field("credit"), ParseAmount(Field("amount")));
            }).ToList();
        }
        catch (JsonException e) { throw new LedgerError($"{path}: not valid JSON ({e.Message})"); }
    }

    private static string Hex(byte[] b) => LedgerService.Hex(b);
}
