using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Jobs.Queue;
using ModelLedger.Ledger;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger jobs submit|list|show|cancel|logs</c>: the workspace's job queue from the command line (the
/// management API offers the same over HTTP). <c>mledger worker</c> runs what is submitted.</summary>
internal static class JobsCommand
{
    /// <summary>The workspace flags, shared with <c>mledger worker</c>.</summary>
    internal static readonly Option<string> Workspace = WorkspaceVerb.Workspace;
    internal static readonly Option<string?> Db = WorkspaceVerb.Db;
    private static readonly Option<bool> Json = new("--json") { Description = "One JSON object on stdout" };
    private static readonly Argument<string> Id = new("id") { Description = "Job id (as submit printed it)" };

    public static Command Create() => new("jobs", "Queue training and prediction jobs for mledger worker")
        { Submit(), List(), Show(), Cancel(), Logs() };

    private static Command Verb(string name, string description, Func<ParseResult, SqlJobQueue, CancellationToken, int>
        action, params Symbol[] symbols) =>
        WorkspaceVerb.Create(name, description, ws => JobQueues.Open(ws), (p, _, queue, ct) => action(p, queue, ct),
            symbols);

    private static Command Submit()
    {
        var kind = new Argument<string>("kind")
        {
            Description = "train, predict (a do_predict config) or export (an export config, docs/jobs.md)",
        };
        var config = new Argument<string>("config") { Description = "The config file (YAML); relative paths in it " +
            "resolve against this folder on the worker's machine" };
        return Verb("submit", "Check a config and queue it (prints the job id)", (p, queue, _) =>
        {
            var path = p.GetValue(config)!;
            if (!File.Exists(path)) throw new UserError("config file not found", file: path);
            var payload = JobPayloads.For(p.GetValue(kind)!, File.ReadAllText(path), path,
                Environment.CurrentDirectory);
            var job = queue.Submit(p.GetValue(kind)!, payload);
            Console.WriteLine(p.GetValue(Json) ? JobRecordJson.Write(job).ToJsonString() : job.Id);
            return ExitCodes.Ok;
        }, kind, config, Json);
    }

    private static Command List()
    {
        var limit = new Option<int>("--limit") { DefaultValueFactory = _ => 100, Description = "At most this many" };
        return Verb("list", "Jobs, newest first", (p, queue, _) =>
        {
            var jobs = queue.List(p.GetValue(limit));
            if (p.GetValue(Json))
            {
                Console.WriteLine(new JsonObject { ["jobs"] = new JsonArray([.. jobs.Select(JobRecordJson.Write)]) }
                    .ToJsonString());
                return ExitCodes.Ok;
            }
            Console.WriteLine($"{"ID",-32}  {"KIND",-7}  {"STATE",-9}  {"TRIES",5}  {"CREATED",-20}  WORKER");
            foreach (var j in jobs)
                Console.WriteLine($"{j.Id,-32}  {j.Kind,-7}  {Text(j.State),-9}  {j.Attempts,5}  " +
                    $"{j.Created.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),-20}  " +
                    $"{j.Worker}");
            return ExitCodes.Ok;
        }, limit, Json);
    }

    private static Command Show() => Verb("show", "One job: state, attempts, result or error", (p, queue, _) =>
    {
        var json = JobRecordJson.Write(Find(queue, p.GetValue(Id)!));
        if (p.GetValue(Json)) Console.WriteLine(json.ToJsonString());
        else
            foreach (var (key, value) in json)
                if (key != "payload" && value is not null) Console.WriteLine($"{key}: {value.ToJsonString()}");
        return ExitCodes.Ok;
    }, Id, Json);

    private static Command Cancel() => Verb("cancel", "Cancel a queued job, or stop a running one", (p, queue, _) =>
    {
        var job = Find(queue, p.GetValue(Id)!);
        if (!queue.RequestCancel(job.Id))
            throw new UserError($"job {job.Id} has already finished ({Text(queue.Get(job.Id)!.State)})", field: "id");
        Console.Error.WriteLine(queue.Get(job.Id)!.State == JobState.Cancelled
            ? $"job {job.Id}: cancelled"
            : $"job {job.Id}: cancel requested; its worker stops it at the next step (checkpoint, then cancelled)");
        return ExitCodes.Ok;
    }, Id);

    private static Command Logs()
    {
        var follow = new Option<bool>("--follow") { Description = "Keep printing new lines until the job finishes" };
        return Verb("logs", "The job's event lines (JSON, one per line)", (p, queue, ct) =>
        {
            var id = Find(queue, p.GetValue(Id)!).Id;
            long after = 0;
            while (true)
            {
                bool finished = queue.Get(id)!.State is not (JobState.Queued or JobState.Running);
                foreach (var line in queue.Logs(id, after))
                {
                    Console.WriteLine(line.Line);
                    after = line.Seq;
                }
                // Lines read after seeing the job finished are all it will ever have.
                if (!p.GetValue(follow) || finished) return ExitCodes.Ok;
                if (ct.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(500))) return ExitCodes.Interrupted;
            }
        }, Id, follow);
    }

    private static JobRecord Find(SqlJobQueue queue, string id) =>
        queue.Get(id) ?? throw new UserError($"no job {id} in this workspace", field: "id", hint: "mledger jobs list");

    private static string Text(JobState state) => state.ToString().ToLowerInvariant();
}
