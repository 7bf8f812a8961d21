using System.CommandLine;
using System.Text.Json;
using ModelLedger.Attribution.Influence;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger attribution index|verify</c>: build a training-data attribution index for a trained adapter
/// after the fact, and re-check a built one.</summary>
internal static class AttributionCommand
{
    public static Command Create() => new("attribution", "Training-data attribution indexes for adapters") { Index(), Verify() };

    private static Command Index()
    {
        var adapter = new Option<string>("--adapter") { Required = true, Description = "The training run's output_dir (adapter + checkpoint-N folders)" };
        var dataset = new Option<string>("--dataset") { Required = true, Description = "Dataset name(s) in dataset_info.json, as trained on" };
        var datasetDir = new Option<string>("--dataset-dir") { DefaultValueFactory = _ => "data", Description = "Dataset folder (a datanet snapshot folder works)" };
        var model = new Option<string?>("--model") { Description = "Base model (default: the adapter's base_model_name_or_path)" };
        var template = new Option<string?>("--template") { Description = "Chat template used in training (default: detected)" };
        var cutoff = new Option<int>("--cutoff-len") { DefaultValueFactory = _ => 1024, Description = "cutoff_len used in training" };
        var maxSamples = new Option<int?>("--max-samples") { Description = "max_samples used in training (first N records per dataset)" };
        var quantization = new Option<int?>("--quantization-bit") { Description = "4 or 8 when the adapter was trained on a quantized base (QLoRA)" };
        var dims = new Option<int>("--dims") { DefaultValueFactory = _ => 512, Description = "Projection width k" };
        var checkpoints = new Option<int>("--checkpoints") { DefaultValueFactory = _ => 3, Description = "Most checkpoints TracIn-CP samples" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Projection seed" };
        var output = new Option<string?>("--out") { Description = "Index folder (default: ADAPTER/attribution)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing index folder" };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var command = new Command("index", "Per-example gradient sketches at the run's checkpoints (TracIn-CP)")
        {
            adapter, dataset, datasetDir, model, template, cutoff, maxSamples, quantization, dims, checkpoints, seed, output, overwrite, device, json,
        };
        command.SetAction((p, ct) =>
        {
            var request = new IndexRequest(p.GetValue(adapter)!, p.GetValue(datasetDir)!, p.GetValue(dataset)!, p.GetValue(model), p.GetValue(template),
                p.GetValue(cutoff), p.GetValue(quantization), p.GetValue(output), p.GetValue(overwrite),
                new IndexOptions(p.GetValue(dims), p.GetValue(seed), p.GetValue(checkpoints)), p.GetValue(device)!,
                p.GetValue(maxSamples));
            var summary = GradientIndexBuilder.Run(request, Console.Error.WriteLine, ct);
            if (p.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(summary));
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static Command Verify()
    {
        var index = new Option<string>("--index") { Required = true, Description = "Index folder" };
        var samples = new Option<int>("--samples") { DefaultValueFactory = _ => 8, Description = "Rows per checkpoint to recompute" };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var command = new Command("verify", "Check an index's file hashes and recompute a sample of its rows") { index, samples, device };
        command.SetAction((p, ct) =>
        {
            var report = GradientIndexVerifier.Verify(p.GetValue(index)!, p.GetValue(samples), p.GetValue(device)!, ct);
            Console.WriteLine(report.Message);
            return Task.FromResult(report.Ok ? ExitCodes.Ok : ExitCodes.VerificationFailed);
        });
        return command;
    }
}
