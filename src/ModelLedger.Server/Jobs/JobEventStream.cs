using System.Text;
using System.Text.Json.Nodes;

namespace ModelLedger.Server.Jobs;

/// <summary>
/// Follows one job as server-sent events: every stored log line after the client's <c>Last-Event-ID</c> (default:
/// from the first) as <c>id: SEQ</c> / <c>event: log</c> / <c>data: LINE</c>, then new lines as the worker stores
/// them (polled), and once the job has finished <c>event: end</c> with the job as JSON. The state is read before the
/// lines each round, so the lines of a job seen finished are all sent before its end. A client that hangs up ends
/// the stream.
/// </summary>
internal static class JobEventStream
{
    public static async Task RunAsync(HttpContext http, JobBoard board, string id, TimeSpan poll)
    {
        board.Get(id);   // 404 before the stream starts
        var lastId = http.Request.Headers["Last-Event-ID"].ToString();
        long after = lastId.Length == 0 ? 0 : JobEndpoints.ParseSeq(lastId, "Last-Event-ID");
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var ct = http.RequestAborted;
        while (!ct.IsCancellationRequested)
        {
            var job = board.Get(id);
            foreach (var line in board.Use(q => q.Logs(id, after)))
            {
                await response.WriteAsync(Block(line.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "log", line.Line), Encoding.UTF8, ct);
                after = line.Seq;
            }
            if (JobEndpoints.Finished(job.State))
            {
                JsonObject end = JobEndpoints.Json(job);
                await response.WriteAsync(Block(null, "end", end.ToJsonString()), Encoding.UTF8, ct);
                await response.Body.FlushAsync(ct);
                return;
            }
            await response.Body.FlushAsync(ct);
            try { await Task.Delay(poll, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>One event; a data value with line breaks becomes several data lines, as the SSE format requires.
    /// </summary>
    private static string Block(string? id, string name, string data)
    {
        var block = new StringBuilder();
        if (id is not null) block.Append("id: ").Append(id).Append('\n');
        block.Append("event: ").Append(name).Append('\n');
        foreach (var part in data.Split('\n')) block.Append("data: ").Append(part.TrimEnd('\r')).Append('\n');
        return block.Append('\n').ToString();
    }
}
