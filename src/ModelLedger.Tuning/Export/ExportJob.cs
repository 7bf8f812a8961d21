using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;

namespace ModelLedger.Tuning.Export;

public enum ExportFormat { Hf, Gguf }

/// <summary><c>mledger export</c>: base + LoRA adapter merged into an HF checkpoint, or into a GGUF file.</summary>
public static class ExportJob
{
    /// <returns>The path written (a directory for HF, a .gguf file inside the output directory for GGUF).</returns>
    /// <param name="overwrite">Allow a non-empty output folder (same-named files are replaced; others stay).</param>
    public static string Run(string baseModel, string? adapter, string output, ExportFormat format, GgmlType ggufType,
        Action<string> log, bool overwrite = false)
    {
        // Checked before the model loads: an output that is an input would replace the weights being read.
        ModelLedger.Data.OutputDirectory.Check(output, "--out", overwrite, baseModel, adapter);
        if (adapter is not null && !Directory.Exists(adapter))
            throw new UserError("adapter directory not found", file: adapter, field: "--adapter");
        using var model = PretrainedModel.Load(baseModel);
        if (adapter is not null)
        {
            if (PeftPrefixFiles.IsPrefix(adapter))
                throw new UserError("a P-Tuning prefix is extra attention input, not a weight delta, so it cannot be merged", file: adapter,
                    hint: "serve it with --adapter instead");
            PeftLoraFiles.Load(model.Network, adapter, "export");
            MergedExport.MergeAndUnload(model, "export");
            log($"merged LoRA adapter {adapter} into {baseModel}");
        }
        Directory.CreateDirectory(output);
        if (format == ExportFormat.Hf)
        {
            PretrainedModel.Save(model.Network, baseModel, output);
            log($"wrote HF checkpoint to {output}");
            return output;
        }
        var file = Path.Combine(output, $"model-{ggufType.ToString().ToLowerInvariant().Replace("_", "", StringComparison.Ordinal)}.gguf");
        GgufExport.Write(model, file, ggufType);
        log($"wrote {file}");
        return file;
    }
}
