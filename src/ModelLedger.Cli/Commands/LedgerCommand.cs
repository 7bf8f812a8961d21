using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Log;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger ledger …</c>: the verifiable log and reward accounts. Each verb opens the workspace, makes one
/// ledger call and prints its outcome (the ledger's JSON shapes where asked); outcomes map to exit codes here.</summary>
internal static class LedgerCommand
{
    private static readonly Option<string> Workspace = new("--workspace") { DefaultValueFactory = _ => ".mledger", Description = "Ledger workspace folder" };
    private static readonly Option<string?> Db = new("--db")
    {
        Description = $"PostgreSQL connection string (default: the workspace's own database; a PostgreSQL workspace reads ${LedgerWorkspace.ConnectionVariable} or its 0600 db.connection file)",
    };
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
            try
            {
                using var ws = LedgerWorkspace.Open(p.GetValue(Workspace)!, p.GetValue(Db));
                return Task.FromResult(action(p, ws));
            }
            catch (DbException e)
            {
                throw new LedgerError($"the ledger database refused the operation ({e.Message.Split('\n')[0]}); run mledger ledger verify");
            }
        });
        return command;
    }

    private static Command Init()
    {
        var origin = new Option<string>("--origin") { Required = true, Description = "Log origin (also the key name), e.g. example.org/ledger" };
        var command = new Command("init", "Create a workspace and its log key (atomically: all or nothing)") { Workspace, Db, origin };
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
        var payload = new Option<string>("--payload") { Required = true, Description = "Payload JSON object (kept verbatim in the leaf, surrounding whitespace removed)" };
        var actor = new Option<string>("--actor") { DefaultValueFactory = _ => Environment.UserName };
        var id = new Option<string?>("--id") { Description = "Client id: resubmitting the same id and content is a no-op" };
        return Verb("append", "Append an event", (p, ws) =>
            Print([ws.Service.Submit(p.GetValue(type)!, p.GetValue(actor)!, p.GetValue(payload)!, p.GetValue(id))], p.GetValue(Json)),
            type, payload, actor, id, Json);
    }

    private static Command AccountCreate()
    {
        var id = new Option<string>("--id") { Required = true };
        var negative = new Option<bool>("--allow-negative") { Description = "May go below zero (a mint or treasury)" };
        return Verb("create", "Create an account", (p, ws) =>
            Print([ws.Service.SubmitAccount(p.GetValue(id)!, p.GetValue(negative))], p.GetValue(Json)), id, negative, Json);
    }

    private static Command TransferVerb()
    {
        var id = new Option<string?>("--id");
        var debit = new Option<string?>("--debit");
        var credit = new Option<string?>("--credit");
        var amount = new Option<string?>("--amount") { Description = "Unsigned integer in the smallest unit (up to 2^128-1)" };
        var file = new Option<string?>("--file") { Description = "JSON array of {id, debit, credit, amount}: linked, all or nothing (not with --id/--debit/--credit/--amount)" };
        return Verb("transfer", "Move an amount from one account to another (double entry)", (p, ws) =>
        {
            var single = new (string Flag, string? Value)[] { ("--id", p.GetValue(id)), ("--debit", p.GetValue(debit)), ("--credit", p.GetValue(credit)), ("--amount", p.GetValue(amount)) };
            List<Transfer> transfers;
            if (p.GetValue(file) is string path)
            {
                var mixed = single.Where(s => s.Value is not null).Select(s => s.Flag).ToList();
                if (mixed.Count > 0) throw new LedgerError($"--file gives the whole batch; {string.Join(", ", mixed)} would be ignored (use one or the other)");
                transfers = TransferFile.Read(path);
            }
            else
            {
                var missing = single.Where(s => s.Value is null).Select(s => s.Flag).ToList();
                if (missing.Count > 0) throw new LedgerError($"{string.Join(", ", missing)} required (or --file)");
                transfers = [new Transfer(single[0].Value!, single[1].Value!, single[2].Value!, TransferFile.ParseAmount(single[3].Value!))];
            }
            return Print(ws.Service.SubmitTransfers(transfers), p.GetValue(Json));
        }, id, debit, credit, amount, file, Json);
    }

    private static Command Balances() => Verb("balances", "Account balances (credits − debits)", (p, ws) =>
    {
        var accounts = ws.Store.ReadAccounts();
        if (p.GetValue(Json)) Console.WriteLine(LedgerJson.Balances(accounts).ToJsonString());
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
        var output = new Option<string>("--out") { Required = true, Description = "JSON lines file to write (written aside, then renamed)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace --out if it already exists" };
        return Verb("export", "Every entry as JSON lines {index, leaf (base64), event}", (p, ws) =>
        {
            var path = p.GetValue(output)!;
            var target = ExportTarget(path, p.GetValue(overwrite));
            var temp = $"{target}.{Guid.NewGuid():N}.tmp";
            long n = 0;
            try
            {
                using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false)))
                    foreach (var (index, leaf) in ws.Store.ReadEntries(0))
                    {
                        writer.WriteLine(LedgerJson.ExportLine(index, leaf).ToJsonString());
                        n++;
                    }
                File.Move(temp, target, overwrite: true);
            }
            finally { if (File.Exists(temp)) File.Delete(temp); }
            Console.Error.WriteLine($"exported {n} entries to {path}");
            return ExitCodes.Ok;
        }, output, overwrite);
    }

    /// <summary>Checks an export path before anything is written: its folder exists, it is not a folder, and it is
    /// replaced only with --overwrite.</summary>
    private static string ExportTarget(string path, bool overwrite)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new LedgerError($"--out {path} is a folder; give a file name such as {Path.Combine(path, "ledger.jsonl")}");
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new LedgerError($"--out {path}: the folder {folder} does not exist");
        if (File.Exists(full) && !overwrite) throw new LedgerError($"--out {path} already exists (add --overwrite to replace it)");
        return full;
    }

    private static Command Prove()
    {
        var index = new Option<long>("--index") { Required = true };
        var size = new Option<long?>("--size") { Description = "Tree size (default: the current log)" };
        return Verb("prove", "Inclusion proof of an entry (RFC 9162)", (p, ws) =>
        {
            long treeSize = p.GetValue(size) ?? ws.Service.Size;
            var (leafHash, path, root) = ws.Service.Prove(p.GetValue(index), treeSize);
            Console.WriteLine(LedgerJson.Inclusion(p.GetValue(index), treeSize, leafHash, path, root).ToJsonString());
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
            Console.WriteLine(LedgerJson.Consistency(p.GetValue(from), p.GetValue(to), path, fromRoot, toRoot).ToJsonString());
            return ExitCodes.Ok;
        }, from, to, Json);
    }

    private static Command Verify()
    {
        var from = new Option<string?>("--from-checkpoint") { Description = "A signed checkpoint the log must extend" };
        return Verb("verify", "Replay the log and re-derive every stored table (reads only)", (p, ws) =>
        {
            var note = p.GetValue(from) is string f ? File.Exists(f) ? File.ReadAllText(f) : throw new LedgerError($"{f}: checkpoint file not found") : null;
            var report = LedgerVerifier.Verify(ws.Store, NoteVerifier.Parse(ws.Signer.VerifierKey), note);
            // The datanet and reward tables are projections of a log that verified; check them only then.
            if (report.Ok && WorkspaceVerification.Run(ws) is { Count: > 0 } capability)
                report = report with { Problems = [.. report.Problems, .. capability] };
            if (p.GetValue(Json)) Console.WriteLine(LedgerJson.Verify(report).ToJsonString());
            if (report.Ok)
            {
                if (!p.GetValue(Json))
                    Console.WriteLine($"ok: {report.Entries} entries, {report.Checkpoints} checkpoints, {report.Accounts} accounts; root {Hex(ws.Service.Root(report.Entries))}");
                return ExitCodes.Ok;
            }
            Console.Error.WriteLine(report.FirstBadIndex is not long bad ? $"error: verification failed: {report.Problems[0]}"
                : report.FirstBadLast is long last && last != bad ? $"error: verification failed; first bad entry: one of {bad}..{last}"
                : $"error: verification failed; first bad entry: {bad}");
            foreach (var problem in report.Problems.Take(20)) Console.Error.WriteLine($"  {problem}");
            if (report.Problems.Count > 20) Console.Error.WriteLine($"  … and {report.Problems.Count - 20} more");
            return ExitCodes.VerificationFailed;
        }, from, Json);
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

    /// <summary>(internal) Appends entries with client ids PREFIX-0.. and prints "ack ID INDEX STATUS" after each one is
    /// durable: the durability tests kill this process at random points, rerun it with the same ids, and check every
    /// acknowledged entry survived at its index and is answered "exists".</summary>
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
                Console.Out.WriteLine($"ack {id} {r.Index} {LedgerJson.Status(r.Status)}");
                Console.Out.Flush();
            }
            return ExitCodes.Ok;
        }, count, prefix);
        command.Hidden = true;
        return command;
    }

    /// <summary>Prints outcomes (JSON on stdout when asked; refusals as one error line) and maps them to an exit code:
    /// appended or exists → 0, refused or exists with different content → 2.</summary>
    private static int Print(IReadOnlyList<AppendResult> results, bool json)
    {
        if (json) Console.WriteLine(results.Count == 1 ? LedgerJson.Result(results[0]).ToJsonString() : new JsonArray([.. results.Select(r => (JsonNode)LedgerJson.Result(r))]).ToJsonString());
        var refused = results.FirstOrDefault(r => !r.Accepted && r.Reason is not null && !r.Reason.StartsWith("not written", StringComparison.Ordinal))
            ?? results.FirstOrDefault(r => !r.Accepted);
        if (refused is not null)
        {
            Console.Error.WriteLine($"error: {refused.Reason}");
            return ExitCodes.UserError;
        }
        if (!json)
            foreach (var r in results)
                Console.WriteLine(r.Status == AppendStatus.Exists ? $"exists: index {r.Index}" : $"appended: index {r.Index}, tree size {r.TreeSize}");
        return ExitCodes.Ok;
    }

    private static string Hex(byte[] b) => LedgerService.Hex(b);
}
