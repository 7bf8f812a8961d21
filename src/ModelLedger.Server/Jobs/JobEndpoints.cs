using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Jobs.Queue;
using ModelLedger.Server.Management;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Jobs;

/// <summary>Training, evaluation and export jobs through the job queue (admin and trainer keys): submit (validated first),
/// list, show, follow as server-sent events, cancel, read logs. The server only queues and reads; workers run the jobs
/// as child processes.</summary>
internal static class JobEndpoints
{
    public static void MapJobs(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/jobs").WithTags("jobs");
        group.MapPost("/train", (HttpContext http, JobBoard board, ServerOptions options) =>
                SubmitAsync(http, board, options, JobSubmission.Train))
            .WithSummary("Queue a training job: YAML config text, {\"config\": YAML}, or a JSON object of config keys; " +
                "validated first (400 naming the field)");
        group.MapPost("/predict", (HttpContext http, JobBoard board, ServerOptions options) =>
                SubmitAsync(http, board, options, JobSubmission.Predict))
            .WithSummary("Queue an evaluation job: a predict config (do_predict: true), in the same shapes as train");
        group.MapPost("/export", (HttpContext http, JobBoard board, ServerOptions options) =>
                SubmitAsync(http, board, options, JobSubmission.Export))
            .WithSummary("Queue an export job (merged HF checkpoint or GGUF): an export config (model_name_or_path, " +
                "adapter_name_or_path, export_dir, export_format, export_gguf_type, export_overwrite), in the same " +
                "shapes as train");
        group.MapGet("", (HttpContext http, JobBoard board, int? limit) =>
        {
            Access.Require(http, "read jobs", Access.Trainers);
            if (limit is < 1 or > 1000) throw ApiError.BadRequest("limit must be 1..1000", "limit");
            var jobs = board.Use(q => q.List(limit ?? 100));
            return Results.Json(new JsonObject { ["data"] = new JsonArray([.. jobs.Select(j => (JsonNode)Json(j))]) });
        }).WithSummary("List jobs, newest first (?limit=, default 100)");
        group.MapGet("/{id}", (HttpContext http, JobBoard board, string id) =>
        {
            Access.Require(http, "read jobs", Access.Trainers);
            return Results.Json(Json(board.Get(id)));
        }).WithSummary("A job: kind, state, attempts, worker, lease, result, error");
        group.MapGet("/{id}/events", (HttpContext http, JobBoard board, ServerOptions options, string id) =>
        {
            Access.Require(http, "read jobs", Access.Trainers);
            return JobEventStream.RunAsync(http, board, id, options.JobPollInterval);
        }).WithSummary("Server-sent events: the stored log lines (event: log, id: seq), then new ones as they " +
            "arrive, then event: end with the job once it has finished; Last-Event-ID resumes");
        group.MapPost("/{id}/cancel", (HttpContext http, JobBoard board, string id) =>
        {
            Access.Require(http, "cancel jobs", Access.Trainers);
            var job = board.Get(id);
            if (!board.Use(q => q.RequestCancel(id)))
                throw new ApiError(StatusCodes.Status409Conflict, $"job {id} has already finished ({Name(job.State)})",
                    "invalid_request_error", "job_finished");
            return Results.Json(Json(board.Get(id)));
        }).WithSummary("Cancel a job: a queued one at once, a running one at its worker's next safe point");
        group.MapGet("/{id}/logs", (HttpContext http, JobBoard board, string id, long? after) =>
        {
            Access.Require(http, "read jobs", Access.Trainers);
            board.Get(id);
            var lines = board.Use(q => q.Logs(id, after ?? 0));
            return Results.Json(new JsonObject { ["data"] = new JsonArray([.. lines.Select(l => (JsonNode)new JsonObject
            {
                ["seq"] = l.Seq, ["at"] = Field.Time(l.At), ["line"] = l.Line,
            })]) });
        }).WithSummary("A job's log lines after ?after= (a sequence number; default 0: all), each a JSON event line");
    }

    private static async Task<IResult> SubmitAsync(HttpContext http, JobBoard board, ServerOptions options,
        string kind)
    {
        Access.Require(http, $"submit {kind} jobs", Access.Trainers);
        var payload = await JobSubmission.PayloadAsync(http, kind, options.Limits.MaxBodyBytes);
        var job = board.Use(q => q.Submit(kind, payload));
        return Results.Json(Json(job), statusCode: StatusCodes.Status201Created);
    }

    public static string Name(JobState state) => state.ToString().ToLowerInvariant();

    public static bool Finished(JobState state) => state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    public static JsonObject Json(JobRecord j) => new()
    {
        ["id"] = j.Id, ["kind"] = j.Kind, ["state"] = Name(j.State), ["attempts"] = j.Attempts, ["worker"] = j.Worker,
        ["lease_until"] = j.LeaseUntil is { } lease ? Field.Time(lease) : null, ["created"] = Field.Time(j.Created),
        ["finished"] = j.Finished is { } done ? Field.Time(done) : null, ["cancel_requested"] = j.CancelRequested,
        ["payload"] = Field.Parsed(j.Payload), ["result"] = Field.Parsed(j.Result), ["error"] = j.Error,
    };

    internal static long ParseSeq(string text, string field) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw ApiError.BadRequest($"{field} must be a log sequence number (got '{text}')", field);
}
