using System.CommandLine;
using System.Globalization;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Evaluation.Prediction;
using ModelLedger.Evaluation.SampleData;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Training;

namespace ModelLedger.Cli.Commands;

/// <summary>
/// <c>mledger quickstart</c>: the main job on the embedded default, in a few minutes on 2 CPU cores — generate the
/// ad-copy dataset, build a small base model (init-model, then stage pt on the ad corpus), fine-tune a LoRA adapter
/// (stage sft), evaluate base and adapter on the held-out split, print the ROUGE/BLEU table. Each training stage is
/// the same job `mledger train` runs, from a YAML file left in the workspace.
/// </summary>
internal static class QuickstartCommand
{
    public static Command Create()
    {
        var workspace = new Option<string>("--workspace") { DefaultValueFactory = _ => "workspace", Description = "Folder for the artefacts" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 300, Description = "Optimizer steps for each training stage" };
        var command = new Command("quickstart", "Run the main job end to end on the bundled sample data") { workspace, steps };
        command.SetAction((p, ct) =>
        {
            var dir = Path.GetFullPath(p.GetValue(workspace)!);
            int n = p.GetValue(steps);
            Directory.CreateDirectory(dir);
            var data = Path.Combine(dir, "data");
            Console.Error.WriteLine($"[1/5] writing the ad-copy dataset to {data}");
            AdgenGenerator.Write(data, 800, 40, seed: 0);

            var init = Path.Combine(dir, "init-model");
            Console.Error.WriteLine($"[2/5] initialising a small Llama model in {init}");
            if (Directory.Exists(init)) Directory.Delete(init, recursive: true);
            RandomInit.Write(new ModelShape(LlamaArchitecture.Llama, 128, 4, 4, 2, 352, 256), Path.Combine(AppContext.BaseDirectory, "samples", "tokenizer"), init, seed: 0);

            var baseModel = Path.Combine(dir, "base-model");
            Console.Error.WriteLine($"[3/5] pre-training it on the ad corpus (stage pt, {n} steps) -> {baseModel}");
            Train(dir, "pretrain.yaml", $"""
                model_name_or_path: {init}
                stage: pt
                finetuning_type: full
                dataset: adgen_corpus
                dataset_dir: {data}
                cutoff_len: 128
                output_dir: {baseModel}
                """ + Schedule(n), ct);

            var adapter = Path.Combine(dir, "adapter");
            Console.Error.WriteLine($"[4/5] fine-tuning a LoRA adapter (stage sft, {n} steps) -> {adapter}");
            Train(dir, "sft_lora.yaml", $"""
                model_name_or_path: {baseModel}
                stage: sft
                finetuning_type: lora
                lora_rank: 16
                lora_target: all
                dataset: adgen_train
                dataset_dir: {data}
                template: alpaca
                cutoff_len: 192
                output_dir: {adapter}
                """ + Schedule(n), ct);

            Console.Error.WriteLine("[5/5] evaluating base and adapter on the 40 held-out examples");
            var baseScores = BatchPrediction.Run(new PredictRequest(baseModel, null, "adgen_test", data, "alpaca", 64, Path.Combine(dir, "eval-base")), _ => { }, ct);
            var tunedScores = BatchPrediction.Run(new PredictRequest(baseModel, adapter, "adgen_test", data, "alpaca", 64, Path.Combine(dir, "eval-adapter")), _ => { }, ct);
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine("| model | ROUGE-1 | ROUGE-2 | ROUGE-L | BLEU-4 | Google ROUGE-L F | perplexity |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var (name, s) in new[] { ("base (pt only)", baseScores), ("base + LoRA adapter", tunedScores) })
                Console.WriteLine(string.Format(inv, "| {0} | {1:F2} | {2:F2} | {3:F2} | {4:F2} | {5:F4} | {6:F2} |", name, (double)s["predict_rouge-1"]!, (double)s["predict_rouge-2"]!,
                    (double)s["predict_rouge-l"]!, (double)s["predict_bleu-4"]!, (double)s["google_rougeL_f"]!, (double)s["perplexity"]!));
            Console.Error.WriteLine();
            Console.Error.WriteLine($"Artefacts are in {dir} (the YAML files there are what each stage ran). Next:");
            Console.Error.WriteLine($"  ./mledger chat --model {baseModel} --adapter {adapter} --template alpaca");
            Console.Error.WriteLine($"  ./mledger eval --model {baseModel} --adapter {adapter} --dataset adgen_test --dataset_dir {data} --template alpaca --out {dir}/eval");
            Console.Error.WriteLine($"  ./mledger export --model {baseModel} --adapter {adapter} --out {dir}/gguf --format gguf");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>The optimisation settings both stages share.</summary>
    private static string Schedule(int steps) => $"""

        learning_rate: 3.0e-3
        lr_scheduler_type: cosine
        warmup_ratio: 0.05
        max_steps: {steps}
        per_device_train_batch_size: 8
        logging_steps: 50
        save_steps: 100000
        seed: 0
        overwrite_output_dir: true
        """;

    private static void Train(string dir, string file, string yaml, CancellationToken ct)
    {
        var path = Path.Combine(dir, file);
        File.WriteAllText(path, yaml + "\n");
        Console.Error.WriteLine($"      ./mledger train {path}");
        var result = TrainingRun.Execute(TrainConfig.From(RawConfig.Load(path, [])), line =>
        {
            if (line.StartsWith("step ", StringComparison.Ordinal)) Console.Error.WriteLine("      " + line);
        }, ct);
        if (result.Interrupted) throw new OperationCanceledException();
    }
}
