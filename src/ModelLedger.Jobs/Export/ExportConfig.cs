using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Export;

namespace ModelLedger.Jobs.Export;

/// <summary>
/// An export as a config, the way LLaMA-Factory's <c>llamafactory-cli export</c> takes one, so the job queue carries
/// it like a training config (<c>{"config": YAML}</c>): <c>model_name_or_path</c>, <c>adapter_name_or_path</c>
/// (optional: the LoRA adapter merged in), <c>export_dir</c> (LLaMA-Factory's keys), and ours: <c>export_format</c>
/// (<c>hf</c>, the default, or <c>gguf</c>), <c>export_gguf_type</c> (<c>f32</c>, <c>f16</c> the default, or
/// <c>q8_0</c>) and <c>export_overwrite</c> (false by default). Unknown keys are errors; every problem is reported at
/// once. A worker runs it as <c>mledger export --model … --out … --events jsonl</c> (<see cref="Arguments"/>).
/// </summary>
public static class ExportConfig
{
    private static readonly string[] Known =
    [
        "model_name_or_path", "adapter_name_or_path", "export_dir", "export_format", "export_gguf_type",
        "export_overwrite",
    ];

    /// <summary>Whether a config is an export config (it names an <c>export_dir</c>).</summary>
    public static bool IsExport(RawConfig raw) => raw.Has("export_dir");

    public static ExportRequest From(RawConfig raw)
    {
        var problems = new List<string>();
        foreach (var key in raw.Keys.Where(k => !Known.Contains(k)))
            problems.Add($"{raw.Where(key)}: {key}: unknown key for an export (known: {string.Join(", ", Known)})");
        string Required(string key)
        {
            if (raw.Get(key) is { Length: > 0 } value) return value;
            problems.Add($"{raw.Source}: {key}: is required");
            return "";
        }
        var model = Required("model_name_or_path");
        var output = Required("export_dir");
        var format = (raw.Get("export_format") ?? "hf").ToLowerInvariant() switch
        {
            "hf" => ExportFormat.Hf,
            "gguf" => ExportFormat.Gguf,
            var other => Problem(problems, raw, "export_format", $"'{other}' is not hf or gguf", ExportFormat.Hf),
        };
        var type = (raw.Get("export_gguf_type") ?? "f16").ToLowerInvariant() switch
        {
            "f32" => GgmlType.F32,
            "f16" => GgmlType.F16,
            "q8_0" => GgmlType.Q8_0,
            var other => Problem(problems, raw, "export_gguf_type", $"'{other}' is not f32, f16 or q8_0", GgmlType.F16),
        };
        var overwrite = (raw.Get("export_overwrite") ?? "false").ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            var other => Problem(problems, raw, "export_overwrite", $"'{other}' is not true or false", false),
        };
        if (problems.Count > 0)
            throw new UserError(string.Join("; ", problems), hint: "an export config: model_name_or_path, " +
                "adapter_name_or_path (optional), export_dir, export_format, export_gguf_type, export_overwrite");
        return new ExportRequest(model, raw.Get("adapter_name_or_path") is { Length: > 0 } a ? a : null, output,
            format, type, overwrite);
    }

    private static T Problem<T>(List<string> problems, RawConfig raw, string key, string message, T fallback)
    {
        problems.Add($"{raw.Where(key)}: {key}: {message}");
        return fallback;
    }

    /// <summary>The <c>mledger export</c> arguments that run <paramref name="request"/> and print its events as JSON
    /// lines.</summary>
    public static IReadOnlyList<string> Arguments(ExportRequest request)
    {
        var args = new List<string> { "export", "--model", request.BaseModel, "--out", request.Output };
        if (request.Adapter is string adapter) args.AddRange(["--adapter", adapter]);
        args.AddRange(["--format", request.Format == ExportFormat.Gguf ? "gguf" : "hf", "--gguf-type",
            request.GgufType switch { GgmlType.F32 => "f32", GgmlType.Q8_0 => "q8_0", _ => "f16" }]);
        if (request.Overwrite) args.Add("--overwrite");
        args.AddRange(["--events", "jsonl"]);
        return args;
    }
}
