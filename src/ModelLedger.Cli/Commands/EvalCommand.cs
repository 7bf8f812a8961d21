using System.CommandLine;
using ModelLedger.Evaluation.Prediction;
using ModelLedger.Jobs.Predict;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger eval</c>: batch prediction over a dataset with LLaMA-Factory's predict metrics.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Required = true };
        var adapter = new Option<string?>("--adapter");
        var dataset = new Option<string>("--dataset") { Required = true };
        var datasetDir = new Option<string>("--dataset_dir", "--dataset-dir") { DefaultValueFactory = _ => "data" };
        var template = new Option<string?>("--template");
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 8 };
        var maxSamples = new Option<int?>("--max-samples");
        var output = new Option<string>("--out") { Required = true };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var command = new Command("eval", "Generate for every example and score it (ROUGE, BLEU, perplexity)")
            { model, adapter, dataset, datasetDir, template, maxNew, batch, maxSamples, output, device };
        command.SetAction((p, ct) =>
        {
            var request = new PredictRequest(p.GetValue(model)!, p.GetValue(adapter), p.GetValue(dataset)!, p.GetValue(datasetDir)!,
                p.GetValue(template), p.GetValue(maxNew), p.GetValue(output)!, p.GetValue(batch), p.GetValue(maxSamples), p.GetValue(device)!);
            var scores = ProgressDisplay.Run("predict", (log, progress) => new PredictJob().Run(request, JobRendering.To(log, progress), ct));
            Console.WriteLine(scores.Json.ToJsonString());
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
