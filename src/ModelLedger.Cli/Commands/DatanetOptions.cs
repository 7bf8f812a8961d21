using System.CommandLine;
using System.Text.Json.Nodes;
using ModelLedger.Datanets;
using ModelLedger.Ledger;

namespace ModelLedger.Cli.Commands;

/// <summary>The workspace flags of the contributor and datanet verbs, and how they open and print.</summary>
internal static class DatanetOptions
{
    public static readonly Option<string> Workspace = new("--workspace")
        { DefaultValueFactory = _ => ".mledger", Description = "Ledger workspace folder" };
    public static readonly Option<string?> Db = new("--db")
        { Description = "PostgreSQL connection string (default: the workspace's database)" };
    public static readonly Option<bool> Json = new("--json") { Description = "One JSON object on stdout" };

    /// <summary>A verb that opens the workspace and its datanet tables, runs <paramref name="action"/> and closes.
    /// </summary>
    public static Command Verb(string name, string description, Func<ParseResult, DatanetService, int> action,
        params Symbol[] symbols)
    {
        var command = new Command(name, description) { Workspace, Db, Json };
        foreach (var s in symbols)
            if (s is Option o) command.Options.Add(o);
            else if (s is Argument a) command.Arguments.Add(a);
        command.SetAction((p, _) =>
        {
            using var ws = LedgerWorkspace.Open(p.GetValue(Workspace)!, p.GetValue(Db));
            using var service = new DatanetService(ws);
            return Task.FromResult(action(p, service));
        });
        return command;
    }

    public static void Print(ParseResult p, JsonNode json, string text) =>
        Console.WriteLine(p.GetValue(Json) ? json.ToJsonString() : text);
}
