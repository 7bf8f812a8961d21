using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Jobs.Export;
using ModelLedger.Jobs.Predict;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Jobs.Queue;

/// <summary>The job kinds a worker runs and their payloads, checked when a job is submitted so that a bad config is
/// a user error at once instead of a failed job later. "train" (a training config) and "predict" (a LLaMA-Factory
/// predict config, <c>do_predict: true</c>) run <c>mledger train CONFIG --events jsonl</c> in a child process; "export"
/// (an export config, <see cref="ExportConfig"/>) runs <c>mledger export … --events jsonl</c>.
/// Payload: <c>{"config": "YAML text", "working_dir": "/abs/path"}</c>; relative paths in the config (model, dataset
/// and output folders) resolve against working_dir on the worker's machine, or the worker's own working folder when
/// the payload has none.</summary>
public static class JobPayloads
{
    public const string Train = "train", Predict = "predict", Export = "export";

    public static IReadOnlyList<string> Kinds { get; } = [Train, Predict, Export];

    /// <summary>A payload for a config file's text; throws <see cref="UserError"/> naming <paramref name="source"/>
    /// when the config is not a valid config of that kind.</summary>
    public static string For(string kind, string configText, string source, string? workingDir)
    {
        CheckKind(kind);
        CheckConfig(kind, configText, source);
        if (workingDir is not null && !Path.IsPathFullyQualified(workingDir))
            throw new UserError($"must be an absolute path (got '{workingDir}')", field: "working_dir");
        var payload = new JsonObject { ["config"] = configText };
        if (workingDir is not null) payload["working_dir"] = workingDir;
        return payload.ToJsonString();
    }

    /// <summary>Checks a submitted payload; throws <see cref="UserError"/> on an unknown kind, malformed JSON, an
    /// unknown key or a bad config.</summary>
    public static void Check(string kind, string payloadJson)
    {
        var (config, workingDir) = Read(kind, payloadJson);
        For(kind, config, "payload.config", workingDir);
    }

    /// <summary>The config text and working folder of a payload already checked by <see cref="Check"/>.</summary>
    public static (string Config, string? WorkingDir) Read(string kind, string payloadJson)
    {
        CheckKind(kind);
        JsonObject payload;
        try
        {
            payload = JsonNode.Parse(payloadJson) as JsonObject
                ?? throw new UserError("must be a JSON object", field: "payload");
        }
        catch (JsonException e) { throw new UserError($"not valid JSON ({e.Message})", field: "payload"); }
        foreach (var (key, _) in payload)
            if (key is not ("config" or "working_dir"))
                throw new UserError($"unknown key '{key}'", field: "payload",
                    hint: "a payload has config and working_dir");
        return (Text(payload, "config") ?? throw new UserError("is required (the config's YAML text)",
            field: "payload.config"), Text(payload, "working_dir"));
    }

    private static void CheckKind(string kind)
    {
        if (!Kinds.Contains(kind))
            throw new UserError($"unknown job kind '{kind}'", field: "kind", hint: "use " + string.Join(", ", Kinds));
    }

    private static string? Text(JsonObject payload, string key) => payload[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new UserError("must be a string", field: "payload." + key),
    };

    private static void CheckConfig(string kind, string text, string source)
    {
        var raw = RawConfig.Parse(text, source, []);
        if (ExportConfig.IsExport(raw) != (kind == Export))
            throw new UserError(kind == Export ? "an export config names export_dir" : "this is an export config " +
                "(export_dir)", file: source, field: "kind", hint: kind == Export ? null : "submit it as kind export");
        if (kind == Export)
        {
            ExportConfig.From(raw);
            return;
        }
        bool predict = PredictConfig.IsPredict(raw);
        if (predict != (kind == Predict))
            throw new UserError(
                predict ? "this is a predict config (do_predict: true)" : "this is not a predict config", file: source,
                field: "kind", hint: predict ? "submit it as kind predict" : "submit it as kind train");
        if (predict) PredictConfig.From(raw);
        else TrainConfig.From(raw);
    }
}
