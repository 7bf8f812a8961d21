using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ModelLedger.Jobs;
using ModelLedger.Jobs.Export;
using ModelLedger.Server.Jobs;
using ModelLedger.Server.Management;
using ModelLedger.Server.OpenAi;
using ModelLedger.Tuning.Export;

namespace ModelLedger.Server.Gui;

/// <summary>
/// The Export page's routes (trainer): <c>POST /v1/gui/exports {"job", "format": "hf"|"gguf", "gguf_type"?}</c>
/// merges the adapter a succeeded training job wrote into the served base model (the same
/// <see cref="ModelExportJob"/> as <c>mledger export</c>) under WORKSPACE/exports/ID, and
/// <c>GET /v1/gui/exports/{id}/download</c> answers the GGUF file or the HF folder as a zip. The adapter is named by
/// its job, never by a path, so a key cannot make the server read an arbitrary folder.
/// </summary>
internal static class GuiExports
{
    public static void MapGuiExports(this RouteGroupBuilder group)
    {
        group.MapPost("/exports", ExportAsync)
            .WithSummary("Merge a finished training job's adapter into the base model as HF or GGUF (trainer)");
        group.MapGet("/exports/{id}/download", (HttpContext http, ServerOptions options, string id) =>
        {
            Access.Require(http, "download exports", Access.Trainers);
            if (id.Length != 16 || !id.All(Uri.IsHexDigit))
                throw ApiError.BadRequest("an export id is 16 hex digits", "id");
            var folder = Path.Combine(Root(options), id);
            if (!Directory.Exists(folder)) throw ApiError.NotFound($"no export '{id}'", "export_not_found");
            // GGUF: the exporter writes one model-TYPE.gguf inside its output folder.
            var ggufDir = Path.Combine(folder, "gguf");
            if (Directory.Exists(ggufDir) && Directory.GetFiles(ggufDir, "*.gguf") is [var gguf])
                return Results.File(gguf, "application/octet-stream", Path.GetFileName(gguf));
            var zip = Path.Combine(Path.GetTempPath(), $"mledger-export-{id}-{Guid.NewGuid():N}.zip");
            ZipFile.CreateFromDirectory(Path.Combine(folder, "hf"), zip);
            http.Response.OnCompleted(() => { File.Delete(zip); return Task.CompletedTask; });
            return Results.File(zip, "application/zip", $"merged-{id}.zip");
        }).WithSummary("Download an export: the .gguf file, or the merged HF folder as a zip (trainer)");
    }

    private static string Root(ServerOptions options) => Path.Combine(Path.GetFullPath(options.Workspace), "exports");

    private static async Task<IResult> ExportAsync(HttpContext http, JobBoard board, ServerOptions options)
    {
        Access.Require(http, "export models", Access.Trainers);
        var body = await Field.ObjectAsync(http, options);
        var job = board.Get(Field.Text(body, "job"));
        var adapter = job.Kind == JobSubmission.Train && job.State == ModelLedger.Jobs.Queue.JobState.Succeeded
            ? Field.Parsed(job.Result)?["output_dir"]?.GetValue<string>() : null;
        if (adapter is null) throw ApiError.BadRequest($"job {job.Id} is not a succeeded training job", "job");
        var format = Field.Text(body, "format") switch
        {
            "hf" => ExportFormat.Hf, "gguf" => ExportFormat.Gguf,
            var other => throw ApiError.BadRequest($"format must be hf or gguf (got '{other}')", "format"),
        };
        var type = (Field.OptionalText(body, "gguf_type") ?? "f16") switch
        {
            "f32" => GgmlType.F32, "f16" => GgmlType.F16, "q8_0" => GgmlType.Q8_0,
            var other => throw ApiError.BadRequest($"gguf_type must be f32, f16 or q8_0 (got '{other}')", "gguf_type"),
        };
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var folder = Directory.CreateDirectory(Path.Combine(Root(options), id)).FullName;
        var output = Path.Combine(folder, format == ExportFormat.Hf ? "hf" : "gguf");
        var request = new ExportRequest(Path.GetFullPath(options.ModelDirectory), adapter, output, format, type);
        ExportResult result;
        try
        {
            result = await Task.Run(() => new ModelExportJob().Run(request, new Progress<JobEvent>(),
                http.RequestAborted));
        }
        catch (UserError e)
        {
            Directory.Delete(folder, recursive: true);
            throw ApiError.BadRequest(e.Message, "job");
        }
        return Results.Json(new JsonObject
        {
            ["id"] = id, ["job"] = job.Id, ["format"] = Field.Text(body, "format"), ["adapter"] = adapter,
            ["bytes"] = Bytes(result.Path), ["download"] = $"/v1/gui/exports/{id}/download",
        }, statusCode: StatusCodes.Status201Created);
    }

    private static long Bytes(string path) => File.Exists(path) ? new FileInfo(path).Length
        : Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
}
