using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Attribution.Influence;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger attribute --model BASE --adapter DIR --prompt P [--response R] [--top K] [--json]</c>: which
/// training examples and contributors an answer of the adapter comes from; with <c>--workspace</c> also an
/// <c>attribution</c> ledger event.</summary>
internal static class AttributeCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Base model (default: the one the index was built with)" };
        var adapter = new Option<string>("--adapter") { Required = true, Description = "The adapter (training output_dir)" };
        var index = new Option<string?>("--index") { Description = "Index folder (default: ADAPTER/attribution)" };
        var prompt = new Option<string>("--prompt") { Required = true, Description = "The user's prompt" };
        var response = new Option<string?>("--response") { Description = "The answer to attribute (default: the adapter's greedy answer)" };
        var top = new Option<int>("--top") { DefaultValueFactory = _ => 10, Description = "How many top examples to list" };
        var score = new Option<string>("--score")
        {
            DefaultValueFactory = _ => Name(IndexAttributionHook.Score),
            Description = "fisher (DataInf-style; default, the score billing uses), dot (TracIn-CP as published) or cosine",
        };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 64 };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var workspace = new Option<string?>("--workspace") { Description = "Ledger workspace: record the attribution as an event" };
        var db = new Option<string?>("--db") { Description = "PostgreSQL connection string of the workspace's ledger" };
        var inference = new Option<string?>("--inference") { Description = "Inference id the event refers to (default: a hash of index, prompt, response)" };
        var inferenceRef = new Option<string?>("--inference-ref") { Description = "Leaf hash of the inference's ledger entry" };
        var command = new Command("attribute", "Attribute an adapter's answer to its training examples and contributors (TracIn-CP)")
        {
            model, adapter, index, prompt, response, top, score, maxNew, device, json, workspace, db, inference, inferenceRef,
        };
        command.SetAction((p, ct) =>
        {
            var mode = p.GetValue(score) switch
            {
                "cosine" => InfluenceScore.Cosine,
                "dot" => InfluenceScore.Dot,
                "fisher" => InfluenceScore.Fisher,
                var other => throw new UserError($"unknown score '{other}'", field: "--score", hint: "use cosine, dot or fisher"),
            };
            var adapterDir = p.GetValue(adapter)!;
            using var attributor = InfluenceAttributor.Open(p.GetValue(index) ?? Path.Combine(adapterDir, "attribution"), p.GetValue(model), adapterDir, p.GetValue(device)!);
            var result = attributor.Attribute(p.GetValue(prompt)!, p.GetValue(response), p.GetValue(top), mode, p.GetValue(maxNew));
            if (p.GetValue(workspace) is string ws) Record(attributor, result, ws, p.GetValue(db), p.GetValue(inference), p.GetValue(prompt)!, p.GetValue(inferenceRef));
            if (p.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(result));
            else Print(result);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static string Name(InfluenceScore score) => score.ToString().ToLowerInvariant();

    private static void Record(InfluenceAttributor attributor, AttributionResult result, string workspace, string? db, string? inference, string prompt, string? inferenceRef)
    {
        var manifest = attributor.Index.Manifest;
        var id = inference ?? AttributionEvent.DefaultInferenceId(attributor.Index.Hash, prompt, result.Response);
        var refs = AttributionEvent.KnownRefs(workspace, db, [inferenceRef, manifest.SnapshotLeaf]);
        if (inferenceRef is not null && !refs.Contains(inferenceRef))
            throw new UserError($"{inferenceRef} is not the leaf hash of an entry in this ledger", field: "--inference-ref");
        var payload = AttributionEvent.Payload(id, result.Method, result.Contributors, manifest.SnapshotRoot ?? attributor.Index.Hash, refs);
        var leaf = AttributionEvent.Append(workspace, db, payload);
        Console.Error.WriteLine($"ledger: attribution event {leaf} (inference {id})");
    }

    private static void Print(AttributionResult result)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"method: {result.Method}");
        Console.WriteLine($"response: {result.Response}");
        Console.WriteLine("top examples:");
        foreach (var e in result.Examples) Console.WriteLine(string.Format(inv, "  {0,12:G4}  {1}  ({2})", e.Score, e.Item, e.Contributor));
        Console.WriteLine("contributors (share of positive influence):");
        foreach (var c in result.Contributors) Console.WriteLine(string.Format(inv, "  {0,6:P1}  {1}", c.Share, c.Contributor));
    }
}
