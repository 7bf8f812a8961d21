using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Jobs.Queue;

/// <summary>The JSON shape of a job (<c>mledger jobs show --json</c>): snake_case keys, lower-case state, ISO 8601 UTC
/// times, the payload and result as JSON objects, not strings.</summary>
public static class JobRecordJson
{
    public static JsonObject Write(JobRecord job) => new()
    {
        ["id"] = job.Id,
        ["kind"] = job.Kind,
        ["state"] = SqlJobQueue.StateName(job.State),
        ["attempts"] = job.Attempts,
        ["worker"] = job.Worker,
        ["lease_until"] = Time(job.LeaseUntil),
        ["created"] = Time(job.Created),
        ["finished"] = Time(job.Finished),
        ["cancel_requested"] = job.CancelRequested,
        ["error"] = job.Error,
        ["result"] = Parse(job.Result),
        ["payload"] = Parse(job.Payload),
    };

    private static string? Time(DateTimeOffset? t) =>
        t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Stored JSON as a node; text that is not JSON (never written by the queue) stays a string.</summary>
    private static JsonNode? Parse(string? json)
    {
        if (json is null) return null;
        try { return JsonNode.Parse(json); }
        catch (JsonException) { return JsonValue.Create(json); }
    }
}
