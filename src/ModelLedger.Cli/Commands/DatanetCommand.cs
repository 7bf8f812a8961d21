using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Datanets;
using ModelLedger.Datanets.Intake;
using ModelLedger.Datanets.Storage;
using static ModelLedger.Cli.Commands.DatanetOptions;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger datanet create|add|list|show|snapshot|snapshot-show|verify</c>: parse, one Datanets call,
/// render.</summary>
internal static class DatanetCommand
{
    private static readonly Argument<string> Name = new("NAME") { Description = "Datanet name" };
    private static readonly Option<double?> Threshold = new("--near-dup-threshold")
        { Description = "Jaccard at or above which a record is a near-duplicate (default 0.8)" };

    public static Command Create() => new("datanet", "Signed, deduplicated data collections and their snapshots")
    {
        CreateVerb(), Add(), List(), Show(), Snapshot(), SnapshotShow(), Verify(),
    };

    private static Command CreateVerb()
    {
        var format = new Option<string>("--format") { Required = true, Description = "alpaca, sharegpt, text or documents" };
        var license = new Option<string?>("--license") { Description = "License of the contributed data" };
        var description = new Option<string?>("--description");
        var quota = new Option<long?>("--quota") { Description = "Most accepted items per contributor" };
        return Verb("create", "Create a datanet", (p, service) =>
        {
            var row = service.CreateDatanet(p.GetValue(Name)!, DatanetFormats.Parse(p.GetValue(format)!),
                p.GetValue(license), p.GetValue(description), p.GetValue(quota),
                p.GetValue(Threshold) ?? DatanetService.DefaultNearDupThreshold);
            Print(p, Summary(row, service.Store), $"created {row.Name} ({row.Format.Name()})");
            return ExitCodes.Ok;
        }, Name, format, license, description, quota, Threshold);
    }

    private static Command Add()
    {
        var files = new Argument<string[]>("FILE") { Arity = ArgumentArity.OneOrMore, Description = "JSON, JSONL, .txt or .md" };
        var contributor = new Option<string>("--contributor") { Required = true, Description = "Who signs the records" };
        var scoreWith = new Option<string?>("--score-with") { Description = "HF model directory: store each item's perplexity" };
        return Verb("add", "Sign and submit records (rejections are reported, exit 0)", (p, service) =>
        {
            using var scorer = p.GetValue(scoreWith) is string model ? new ModelPerplexity(model) : null;
            var result = service.Add(p.GetValue(Name)!, p.GetValue(files)!, p.GetValue(contributor)!, p.GetValue(Threshold),
                scorer);
            var json = new JsonObject
            {
                ["accepted"] = result.Items.Count,
                ["rejected"] = new JsonArray([.. result.Rejected.Select(r => new JsonObject
                {
                    ["file"] = r.File, ["record"] = r.Record, ["reason"] = r.Reason, ["duplicate_of"] = r.DuplicateOf,
                })]),
                ["items"] = new JsonArray([.. result.Items.Select(i => JsonValue.Create(i))]),
            };
            Print(p, json, $"accepted {result.Items.Count}, rejected {result.Rejected.Count}" + string.Concat(
                result.Rejected.Select(r => $"\n{r.File}:record {r.Record}: {r.Reason}")));
            return ExitCodes.Ok;
        }, Name, files, contributor, Threshold, scoreWith);
    }

    private static Command List() => Verb("list", "Datanets in this workspace", (p, service) =>
    {
        var rows = service.Store.Datanets();
        Print(p, new JsonObject { ["datanets"] = new JsonArray([.. rows.Select(r => Summary(r, service.Store))]) },
            string.Join('\n', rows.Select(r => $"{r.Name}\t{r.Format.Name()}\t{service.Store.ItemCount(r.Name)} items")));
        return ExitCodes.Ok;
    });

    private static Command Show() => Verb("show", "Counts per contributor, rejections by reason, snapshots", (p, service) =>
    {
        var row = service.Store.RequireDatanet(p.GetValue(Name)!);
        var json = Summary(row, service.Store);
        var perContributor = service.Store.ItemsPerContributor(row.Name);
        var rejections = service.Store.RejectionCounts(row.Name);
        json["contributors"] = new JsonObject(perContributor.Select(kv =>
            KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));
        json["rejections"] = new JsonObject(rejections.GroupBy(r => r.Code).Select(g =>
            KeyValuePair.Create(g.Key, (JsonNode?)JsonValue.Create(g.Sum(r => r.Count)))));
        json["rejections_by_contributor"] = new JsonArray([.. rejections.Select(r => new JsonObject
            { ["contributor"] = r.Contributor, ["code"] = r.Code, ["count"] = r.Count })]);
        json["snapshots"] = new JsonArray([.. service.Store.Snapshots(row.Name).Select(s => new JsonObject
            { ["root"] = s.Root, ["items"] = s.Items, ["ledger_leaf_hash"] = s.LeafHash, ["created"] = s.Created })]);
        Print(p, json, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return ExitCodes.Ok;
    }, Name);

    private static Command Snapshot()
    {
        var output = new Option<string>("--out") { Required = true, Description = "New folder for the LLaMA-Factory dataset" };
        return Verb("snapshot", "Freeze the accepted items (Merkle root, ledger entry, dataset folder)", (p, service) =>
        {
            var s = service.Snapshot(p.GetValue(Name)!, p.GetValue(output)!);
            var dir = Path.GetFullPath(p.GetValue(output)!);
            Print(p, new JsonObject { ["root"] = s.Root, ["items"] = s.Items, ["dataset_dir"] = dir },
                $"{s.Root}\t{s.Items} items\t{dir}");
            return ExitCodes.Ok;
        }, Name, output);
    }

    private static Command SnapshotShow()
    {
        var root = new Argument<string>("ROOT") { Description = "Snapshot root (hex)" };
        return Verb("snapshot-show", "A snapshot's datanet, ledger entry and contributors", (p, service) =>
        {
            var (s, contributors) = service.ShowSnapshot(p.GetValue(root)!);
            var json = new JsonObject
            {
                ["datanet"] = s.Datanet, ["root"] = s.Root, ["items"] = s.Items, ["ledger_leaf_hash"] = s.LeafHash,
                ["created"] = s.Created,
                ["contributors"] = new JsonArray([.. contributors.Select(c => new JsonObject
                {
                    ["name"] = c.Contributor.Name, ["key_id"] = c.Contributor.KeyId,
                    ["public_key"] = c.Contributor.PublicKey, ["items"] = c.Items,
                    ["registered_leaf_hash"] = c.Contributor.LeafHash,
                })]),
            };
            Print(p, json, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }, root);
    }

    private static Command Verify() => Verb("verify", "Re-check signatures, items, order and snapshot roots", (p, service) =>
    {
        var problems = DatanetVerifier.Verify(service.Workspace, service.Store, p.GetValue(Name)!);
        if (p.GetValue(Json))
            Console.WriteLine(new JsonObject { ["ok"] = problems.Count == 0,
                ["problems"] = new JsonArray([.. problems.Select(x => JsonValue.Create(x))]) }.ToJsonString());
        foreach (var problem in problems) Console.Error.WriteLine($"FAIL {problem}");
        if (problems.Count > 0) return ExitCodes.VerificationFailed;
        if (!p.GetValue(Json))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok: {service.Store.ItemCount(p.GetValue(Name)!)} "
                + $"items, {service.Store.Snapshots(p.GetValue(Name)!).Count} snapshots verified"));
        return ExitCodes.Ok;
    }, Name);

    private static JsonObject Summary(DatanetRow row, DatanetStore store) => new()
    {
        ["name"] = row.Name, ["format"] = row.Format.Name(), ["license"] = row.License, ["description"] = row.Description,
        ["quota"] = row.Quota, ["near_dup_threshold"] = row.NearDupThreshold, ["items"] = store.ItemCount(row.Name),
        ["ledger_leaf_hash"] = row.LeafHash, ["created"] = row.Created,
    };
}
