using System.CommandLine;
using ModelLedger.Jobs;
using ModelLedger.Jobs.Export;
using ModelLedger.Tuning.Export;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger export</c>: merge a LoRA adapter into its base and write an HF checkpoint or a GGUF file.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Required = true, Description = "Base HF model directory" };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter directory to merge (optional)" };
        var output = new Option<string>("--out") { Required = true, Description = "Output directory" };
        var format = new Option<string>("--format") { DefaultValueFactory = _ => "hf", Description = "hf (merged safetensors) or gguf" };
        var ggufType = new Option<string>("--gguf-type") { DefaultValueFactory = _ => "f16", Description = "f32, f16 or q8_0" };
        var overwrite = new Option<bool>("--overwrite")
            { Description = "Write into a non-empty --out (replaces files of the same name)" };
        var events = new Option<string>("--events")
        {
            DefaultValueFactory = _ => "human",
            Description = "human (log lines) or jsonl (the job's events, one per line on stdout, for a job worker)",
        };
        var command = new Command("export", "Merge an adapter and export as an HF checkpoint or GGUF")
            { model, adapter, output, format, ggufType, overwrite, events };
        command.SetAction((p, _) =>
        {
            var fmt = p.GetValue(format)!.ToLowerInvariant() switch
            {
                "hf" => ExportFormat.Hf,
                "gguf" => ExportFormat.Gguf,
                var other => throw new UserError($"unknown format '{other}'", field: "--format", hint: "use hf or gguf"),
            };
            var type = p.GetValue(ggufType)!.ToLowerInvariant() switch
            {
                "f32" => GgmlType.F32,
                "f16" => GgmlType.F16,
                "q8_0" => GgmlType.Q8_0,
                var other => throw new UserError($"unknown GGUF type '{other}'", field: "--gguf-type", hint: "use f32, f16 or q8_0"),
            };
            var jsonl = p.GetValue(events) switch
            {
                "human" => false,
                "jsonl" => true,
                var other => throw new UserError($"unknown event format '{other}'", field: "--events",
                    hint: "use human or jsonl"),
            };
            var request = new ExportRequest(p.GetValue(model)!, p.GetValue(adapter), p.GetValue(output)!, fmt, type,
                p.GetValue(overwrite));
            if (jsonl)
            {
                new ModelExportJob().Run(request, JobRendering.JsonLines(), CancellationToken.None);
                return Task.FromResult(ExitCodes.Ok);
            }
            var result = new ModelExportJob().Run(request, new JobEvents(e =>
            {
                if (e is MessageEvent m) Console.Error.WriteLine(m.Message);
            }), CancellationToken.None);
            Console.WriteLine(result.Path);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
