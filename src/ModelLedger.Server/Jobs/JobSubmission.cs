using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Jobs.Export;
using ModelLedger.Jobs.Predict;
using ModelLedger.Server.OpenAi;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Server.Jobs;

/// <summary>
/// Reads and validates a job's config before it is queued, so a bad config is a 400 naming the field rather than a
/// failed job later. The body is YAML text (<c>Content-Type: application/yaml</c> or <c>text/*</c>), JSON
/// <c>{"config": "YAML text"}</c>, or a JSON object of config keys (JSON is YAML, so it is queued as it came).
/// Payload queued for every kind: <c>{"config": TEXT}</c>; a worker runs it as
/// <c>mledger train CONFIG --events jsonl</c>, which trains, or predicts when the config says
/// <c>do_predict: true</c>; an export config (<c>export_dir</c>, <see cref="ExportConfig"/>) runs as
/// <c>mledger export … --events jsonl</c>.
/// </summary>
internal static class JobSubmission
{
    public const string Train = "train", Predict = "predict", Export = "export";
    private const string Source = "config";

    public static async Task<string> PayloadAsync(HttpContext http, string kind, long limit)
    {
        var text = await ConfigTextAsync(http, limit);
        var raw = RawConfig.Parse(text, Source, []);
        if (kind == Export || ExportConfig.IsExport(raw))
        {
            if (kind != Export)
                throw ApiError.BadRequest("an export config (export_dir): POST /v1/jobs/export", "export_dir");
            ExportConfig.From(raw);
        }
        else if (kind == Train)
        {
            if (PredictConfig.IsPredict(raw))
                throw ApiError.BadRequest("do_predict: true is an evaluation: POST /v1/jobs/predict", "do_predict");
            TrainConfig.From(raw);
        }
        else
        {
            if (!PredictConfig.IsPredict(raw))
                throw ApiError.BadRequest("an evaluation job needs do_predict: true", "do_predict");
            PredictConfig.From(raw);
        }
        return new JsonObject { ["config"] = text }.ToJsonString();
    }

    private static async Task<string> ConfigTextAsync(HttpContext http, long limit)
    {
        var bytes = await RequestReading.BytesAsync(http.Request, limit, http.RequestAborted);
        var text = Encoding.UTF8.GetString(bytes);
        if (!RequestReading.IsJson(http.Request))
        {
            var type = http.Request.ContentType ?? "";
            if (!type.Contains("yaml", StringComparison.OrdinalIgnoreCase)
                && !type.StartsWith("text/", StringComparison.OrdinalIgnoreCase))
                throw ApiError.BadRequest("send the config as application/yaml text or as JSON");
            return text;
        }
        JsonNode? body;
        try { body = JsonNode.Parse(text); }
        catch (JsonException e) { throw ApiError.BadRequest($"the request body is not valid JSON: {e.Message}"); }
        if (body is not JsonObject o) throw ApiError.BadRequest("the request body must be a JSON object");
        if (o.Count == 1 && o["config"] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            return v.GetValue<string>();
        return text;
    }
}
