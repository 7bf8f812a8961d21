using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Evaluation.Prediction;
using ModelLedger.Evaluation.SampleData;
using ModelLedger.Jobs.Predict;
using ModelLedger.Jobs.Train;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Jobs.Quickstart;

/// <summary>The quickstart's folder and the optimizer steps of each training stage.</summary>
/// <param name="TokenizerDir">The tokenizer the small model is built on (the CLI ships samples/tokenizer).</param>
public sealed record QuickstartRequest(string Workspace, int Steps, string TokenizerDir);

/// <summary>Where the quickstart left its artefacts, and base vs adapter scores on the held-out split.</summary>
public sealed record QuickstartResult(string Workspace, string Data, string BaseModel, string Adapter,
    PredictScores Base, PredictScores Tuned);

/// <summary>
/// The main job on the embedded default, in a few minutes on 2 CPU cores: generate the ad-copy dataset, build a small
/// base model (init, then stage pt on the ad corpus), fine-tune a LoRA adapter (stage sft), evaluate base and adapter
/// on the held-out split. Each training stage is the same <see cref="TrainJob"/> <c>mledger train</c> runs, from a
/// YAML file left in the workspace. Phases are reported as "[i/5] …"; training steps at each logging window.
/// </summary>
public sealed class QuickstartJob : ThreadJob<QuickstartRequest, QuickstartResult>
{
    private const int LoggingSteps = 50;

    public override QuickstartResult Run(QuickstartRequest request, IProgress<JobEvent> events, CancellationToken ct)
    {
        var dir = Path.GetFullPath(request.Workspace);
        int n = request.Steps;
        Directory.CreateDirectory(dir);
        var data = Path.Combine(dir, "data");
        events.Report(new PhaseEvent($"[1/5] writing the ad-copy dataset to {data}"));
        AdgenGenerator.Write(data, 800, 40, seed: 0);

        var init = Path.Combine(dir, "init-model");
        events.Report(new PhaseEvent($"[2/5] initialising a small Llama model in {init}"));
        if (Directory.Exists(init)) Directory.Delete(init, recursive: true);
        var shape = new ModelShape(LlamaArchitecture.Llama, 128, 4, 4, 2, 352, 256);
        RandomInit.Write(shape, request.TokenizerDir, init, seed: 0);

        var baseModel = Path.Combine(dir, "base-model");
        events.Report(new PhaseEvent($"[3/5] pre-training it on the ad corpus (stage pt, {n} steps) -> {baseModel}"));
        Train(dir, "pretrain.yaml", $"""
            model_name_or_path: {init}
            stage: pt
            finetuning_type: full
            dataset: adgen_corpus
            dataset_dir: {data}
            cutoff_len: 128
            output_dir: {baseModel}
            """ + Schedule(n), events, ct);

        var adapter = Path.Combine(dir, "adapter");
        events.Report(new PhaseEvent($"[4/5] fine-tuning a LoRA adapter (stage sft, {n} steps) -> {adapter}"));
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
            """ + Schedule(n), events, ct);

        events.Report(new PhaseEvent("[5/5] evaluating base and adapter on the 40 held-out examples"));
        var predict = new PredictJob();
        var baseScores = predict.Run(new PredictRequest(baseModel, null, "adgen_test", data, "alpaca", 64,
            Path.Combine(dir, "eval-base")), JobEvents.None, ct);
        var tunedScores = predict.Run(new PredictRequest(baseModel, adapter, "adgen_test", data, "alpaca", 64,
            Path.Combine(dir, "eval-adapter")), JobEvents.None, ct);
        return new QuickstartResult(dir, data, baseModel, adapter, baseScores, tunedScores);
    }

    /// <summary>The optimisation settings both stages share.</summary>
    private static string Schedule(int steps) => $"""

        learning_rate: 3.0e-3
        lr_scheduler_type: cosine
        warmup_ratio: 0.05
        max_steps: {steps}
        per_device_train_batch_size: 8
        logging_steps: {LoggingSteps}
        save_steps: 100000
        seed: 0
        overwrite_output_dir: true
        # a 1M-parameter model's activations are small: keep them (~20 % faster than recomputing them)
        disable_gradient_checkpointing: true
        """;

    /// <summary>Writes the stage's YAML and runs it as <c>mledger train</c> would; forwards the steps at each
    /// logging window.</summary>
    private static void Train(string dir, string file, string yaml, IProgress<JobEvent> events, CancellationToken ct)
    {
        var path = Path.Combine(dir, file);
        File.WriteAllText(path, yaml + "\n");
        events.Report(new MessageEvent($"      ./mledger train {path}"));
        var stage = new JobEvents(e =>
        {
            if (e is StepEvent s && (s.Step % LoggingSteps == 0 || s.Step == s.Total)) events.Report(s);
        });
        var result = new TrainJob().Run(new TrainRequest(TrainConfig.From(RawConfig.Load(path, []))), stage, ct);
        if (result.Run.Interrupted) throw new OperationCanceledException();
    }
}
