using System.CommandLine;
using ModelLedger.Ledger;

namespace ModelLedger.Cli.Commands;

/// <summary>The verbs that work on a ledger workspace (datanets, rewards, jobs): <c>--workspace</c> and <c>--db</c>,
/// the workspace opened, then what the verb needs of it, both closed after the verb's one call.</summary>
internal static class WorkspaceVerb
{
    public static readonly Option<string> Workspace = new("--workspace")
        { DefaultValueFactory = _ => ".mledger", Description = "Ledger workspace folder" };
    public static readonly Option<string?> Db = new("--db")
        { Description = "PostgreSQL connection string (default: the workspace's database)" };

    public static Command Create<T>(string name, string description, Func<LedgerWorkspace, T> open,
        Func<ParseResult, LedgerWorkspace, T, CancellationToken, int> action, params Symbol[] symbols)
        where T : IDisposable
    {
        var command = new Command(name, description) { Workspace, Db };
        foreach (var s in symbols)
            if (s is Option o) command.Options.Add(o); else command.Arguments.Add((Argument)s);
        command.SetAction((p, ct) =>
        {
            using var ws = LedgerWorkspace.Open(p.GetValue(Workspace)!, p.GetValue(Db));
            using var opened = open(ws);
            return Task.FromResult(action(p, ws, opened, ct));
        });
        return command;
    }
}
