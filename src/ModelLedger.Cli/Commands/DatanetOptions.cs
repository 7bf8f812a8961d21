using System.CommandLine;
using System.Text.Json.Nodes;
using ModelLedger.Datanets;
using ModelLedger.Ledger;

namespace ModelLedger.Cli.Commands;

/// <summary>The workspace flags of the contributor and datanet verbs, and how they open and print.</summary>
internal static class DatanetOptions
{
    public static readonly Option<string> Workspace = WorkspaceVerb.Workspace;
    public static readonly Option<string?> Db = WorkspaceVerb.Db;
    public static readonly Option<bool> Json = new("--json") { Description = "One JSON object on stdout" };

    /// <summary>A verb that opens the workspace and its datanet tables, runs <paramref name="action"/> and closes.
    /// </summary>
    public static Command Verb(string name, string description, Func<ParseResult, DatanetService, int> action,
        params Symbol[] symbols) =>
        WorkspaceVerb.Create(name, description, ws => new DatanetService(ws), (p, _, service, _) => action(p, service),
            [Json, .. symbols]);

    public static void Print(ParseResult p, JsonNode json, string text) =>
        Console.WriteLine(p.GetValue(Json) ? json.ToJsonString() : text);
}
