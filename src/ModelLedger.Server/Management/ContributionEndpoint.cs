using System.Text.Json.Nodes;
using ModelLedger.Datanets.Intake;
using ModelLedger.Server.Billing;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Management;

/// <summary><c>POST /v1/datanets/{name}/contributions</c>: a JSON body <c>{"contributor", "records": [...]}</c> or a
/// multipart upload (field <c>contributor</c>, one or more <c>file</c> parts in .json/.jsonl), written to a scratch
/// folder and taken in by <c>DatanetService.Add</c> (signed with the contributor's workspace key, as the CLI does).
/// A record that fails validation refuses the whole submission (400 naming file, line and field; nothing is written);
/// otherwise every record is answered: accepted with its item id, or rejected with its code, reason and
/// duplicate_of.</summary>
internal static class ContributionEndpoint
{
    private const string RecordsFile = "records.jsonl";

    public static async Task<IResult> SubmitAsync(HttpContext http, string name, MeteringPool pool,
        ServerOptions options)
    {
        var caller = Access.Require(http, "contribute records", Access.Contributors);
        var scratch = Directory.CreateTempSubdirectory("mledger-contribution-").FullName;
        try
        {
            var (contributor, files) = RequestReading.IsJson(http.Request)
                ? await FromJsonAsync(http, options, scratch) : await FromUploadAsync(http, options, scratch);
            DatanetEndpoints.CheckContributor(caller, contributor);
            var answer = await pool.UseAsync(l =>
            {
                var service = DatanetEndpoints.Require(l.Datanets, name);
                var records = Named(() => service.Records(name, files));
                var result = Named(() => service.Add(name, files, contributor));
                return Outcome(name, contributor, records.Select(r => (r.Source.File, r.Source.Record)).ToList(),
                    result);
            });
            return Results.Json(answer);
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    private static async Task<(string Contributor, IReadOnlyList<string> Files)> FromJsonAsync(HttpContext http,
        ServerOptions options, string scratch)
    {
        var body = await Field.ObjectAsync(http, options);
        var contributor = Field.Text(body, "contributor");
        if (body["records"] is not JsonArray records || records.Count == 0)
            throw ApiError.BadRequest("records must be a non-empty array of records in the datanet's format",
                "records");
        // One record per line, so a problem's line number is the record's number.
        var path = Path.Combine(scratch, RecordsFile);
        await File.WriteAllLinesAsync(path, records.Select(r => r?.ToJsonString() ?? "null"), http.RequestAborted);
        return (contributor, [path]);
    }

    private static async Task<(string Contributor, IReadOnlyList<string> Files)> FromUploadAsync(HttpContext http,
        ServerOptions options, string scratch)
    {
        if (!http.Request.HasFormContentType)
            throw ApiError.BadRequest("send JSON {\"contributor\", \"records\"} or a multipart form with contributor " +
                "and file parts");
        if (http.Request.ContentLength > options.Limits.MaxBodyBytes) throw ApiError.TooLarge(options.Limits.MaxBodyBytes);
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var contributor = form["contributor"].ToString();
        if (contributor.Length == 0) throw ApiError.BadRequest("contributor is required (a form field)", "contributor");
        var uploads = form.Files.GetFiles("file");
        if (uploads.Count == 0) throw ApiError.BadRequest("no file parts named 'file' in the form", "file");
        var files = new List<string>();
        foreach (var upload in uploads)
        {
            var fileName = Path.GetFileName(upload.FileName);
            if (fileName.Length == 0 || files.Any(f => Path.GetFileName(f) == fileName))
                throw ApiError.BadRequest($"each file part needs a distinct file name (got '{upload.FileName}')", "file");
            var path = Path.Combine(scratch, fileName);
            await using (var target = File.Create(path)) await upload.CopyToAsync(target, http.RequestAborted);
            files.Add(path);
        }
        return (contributor, files);
    }

    /// <summary>Runs intake work, naming scratch files by their file name only in any error (the client knows them
    /// by that name; the server's scratch folder means nothing to it).</summary>
    private static T Named<T>(Func<T> work)
    {
        try { return work(); }
        catch (UserError e) when (e.File is string file)
        {
            throw new UserError(e.Message, Path.GetFileName(file), e.Line, e.Field, e.Hint);
        }
    }

    /// <summary>Every record in submission order: rejected ones from the intake's rejections, the others accepted in
    /// order (the intake answers accepted item ids in record order).</summary>
    private static JsonObject Outcome(string datanet, string contributor, IReadOnlyList<(string File, int Record)> all,
        IntakeResult result)
    {
        var rejected = result.Rejected.ToDictionary(r => (Path.GetFileName(r.File), r.Record));
        var accepted = new Queue<string>(result.Items);
        var rows = new JsonArray();
        foreach (var (file, record) in all)
        {
            var name = Path.GetFileName(file);
            var row = new JsonObject { ["file"] = name, ["record"] = record };
            if (rejected.TryGetValue((name, record), out var r))
            {
                row["status"] = "rejected";
                row["code"] = r.Code;
                row["reason"] = r.Reason;
                row["duplicate_of"] = r.DuplicateOf;
            }
            else
            {
                row["status"] = "accepted";
                row["item"] = accepted.Dequeue();
            }
            rows.Add(row);
        }
        return new JsonObject
        {
            ["datanet"] = datanet, ["contributor"] = contributor, ["accepted"] = result.Items.Count,
            ["rejected"] = result.Rejected.Count, ["records"] = rows,
        };
    }
}
