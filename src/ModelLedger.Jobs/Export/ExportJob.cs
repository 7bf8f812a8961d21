using ModelLedger.Tuning.Export;

namespace ModelLedger.Jobs.Export;

/// <summary>What to export: a base model, optionally merged with a LoRA adapter, as an HF checkpoint or a GGUF file.
/// <see cref="Overwrite"/> allows a non-empty output folder (same-named files are replaced, others stay).</summary>
public sealed record ExportRequest(string BaseModel, string? Adapter, string Output, ExportFormat Format,
    GgmlType GgufType = GgmlType.F16, bool Overwrite = false);

/// <summary>The path written (the folder for HF, the .gguf file for GGUF) and its format.</summary>
public sealed record ExportResult(string Path, ExportFormat Format);

/// <summary>
/// <c>mledger export</c> as a job: the merge and write of Tuning's exporter with its log lines as typed events and a
/// typed result, so the CLI, a server and the benchmarks run the same code. The exporter checks the output (not an
/// input, not a file, empty unless overwrite) before the model loads.
/// </summary>
public sealed class ModelExportJob : ThreadJob<ExportRequest, ExportResult>
{
    public override ExportResult Run(ExportRequest request, IProgress<JobEvent> events, CancellationToken ct)
    {
        events.Report(new PhaseEvent("exporting"));
        ct.ThrowIfCancellationRequested();
        var written = ExportJob.Run(request.BaseModel, request.Adapter, request.Output, request.Format,
            request.GgufType, line => events.Report(new MessageEvent(line)), request.Overwrite);
        var result = new ExportResult(written, request.Format);
        events.Report(new ResultEvent(new System.Text.Json.Nodes.JsonObject
        {
            // absolute: a queued job's reader is not in the folder the export ran in
            ["path"] = Path.GetFullPath(written), ["format"] = request.Format.ToString().ToLowerInvariant(),
        }));
        return result;
    }
}
