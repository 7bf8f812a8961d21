using System.Text.Json.Nodes;
using ModelLedger.Server.Billing;
using ModelLedger.Server.Jobs;
using ModelLedger.Server.Keys;
using ModelLedger.Server.Management;
using ModelLedger.Server.OpenAi;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Server.Gui;

/// <summary>
/// What the GUI needs that the management API did not have: who the key is (so the GUI hides what its role may not
/// do; the API refuses it anyway), the training form (the config key table of <see cref="TrainKeys.All"/> plus this
/// server's model and workspace folders, so a form's paths are the server's), the predictions a finished evaluation
/// job wrote (generated_predictions.jsonl in its output_dir), the latest checkpoint as a value that may be null (the
/// ledger's own route answers 404 before the first, which a browser logs as a console error), exports
/// (<see cref="GuiExports"/>), and chat with documents and the training spans of an answer
/// (<see cref="GuiChatAttribution"/>).
/// </summary>
internal static class GuiApi
{
    /// <summary>Predictions answered per request at most; the GUI pages through a sample, not the whole file.</summary>
    private const int MaxPredictions = 200;

    public static void MapGuiApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/gui").WithTags("gui");
        group.MapGet("/session", (HttpContext http) =>
        {
            var key = Access.Require(http, "read its own key", Access.Anyone);
            return Results.Json(new JsonObject
            {
                ["id"] = key.Id, ["role"] = ApiKeyStore.RoleName(key.Role), ["account"] = key.Account,
            });
        }).WithSummary("The calling key: id, role and the account it bills");
        group.MapGet("/train-form", (HttpContext http, ServerOptions options) =>
        {
            Access.Require(http, "read the training form", Access.Trainers);
            var workspace = Path.GetFullPath(options.Workspace);
            return Results.Json(new JsonObject
            {
                ["model_dir"] = Path.GetFullPath(options.ModelDirectory),
                ["runs_dir"] = Path.Combine(workspace, "runs"),
                ["snapshots_dir"] = Path.Combine(workspace, "snapshots"),
                ["device"] = options.Device,
                ["keys"] = new JsonArray([.. TrainKeys.All.Select(Key)]),
            });
        }).WithSummary("The training config keys (name, type, default, allowed, help) and this server's folders " +
            "(trainer)");
        group.MapGet("/jobs/{id}/predictions", (HttpContext http, JobBoard board, string id) =>
        {
            Access.Require(http, "read jobs", Access.Trainers);
            return Results.Json(Predictions(board.Get(id)));
        }).WithSummary("The first predictions (prompt, predict, label) a finished predict job wrote (trainer)");
        group.MapGet("/checkpoint", (HttpContext http, MeteringPool pool) => LedgerEndpoints.Read(http, pool, ws =>
            new JsonObject
            {
                ["checkpoint"] = ws.Store.ReadCheckpoints() is { Count: > 0 } all
                    ? new JsonObject { ["tree_size"] = all[^1].Size, ["note"] = all[^1].Note } : null,
            })).WithSummary("The latest signed checkpoint, or null when none is signed yet (a 200 either way)");
        group.MapGuiExports();
        group.MapGuiChatAttribution();
    }

    private static JsonNode Key(ConfigKey k) => new JsonObject
    {
        ["name"] = k.Name, ["type"] = k.Type.ToString().ToLowerInvariant(), ["default"] = k.Default,
        ["allowed"] = k.Allowed, ["help"] = k.Help,
    };

    private static JsonObject Predictions(ModelLedger.Jobs.Queue.JobRecord job)
    {
        if (job.Kind != JobSubmission.Predict)
            throw ApiError.BadRequest($"job {job.Id} is a {job.Kind} job, not a predict job", "id");
        var config = JsonNode.Parse(job.Payload)?["config"]?.GetValue<string>() ?? "";
        var outputDir = RawConfig.Parse(config, "config", []).Get("output_dir")
            ?? throw ApiError.BadRequest($"job {job.Id} has no output_dir", "output_dir");
        var file = Path.Combine(outputDir, "generated_predictions.jsonl");
        if (!File.Exists(file))
            throw ApiError.NotFound($"job {job.Id} has written no predictions yet", "predictions_not_found");
        var rows = new JsonArray();
        int total = 0;
        foreach (var line in File.ReadLines(file))
        {
            if (line.Length == 0) continue;
            if (total++ >= MaxPredictions) continue;
            rows.Add(JsonNode.Parse(line));   // written by BatchPrediction; a broken line is a server fault (500)
        }
        return new JsonObject { ["job"] = job.Id, ["total"] = total, ["data"] = rows };
    }
}
