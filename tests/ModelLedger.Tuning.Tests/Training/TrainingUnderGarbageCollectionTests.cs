using System.Diagnostics;
using ModelLedger.Testing;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Tuning.Training;

/// <summary>The worker trains for hours beside threads that allocate. Preparation (adapter attach, quantization,
/// AdamW's state), the steps and the checkpoint and adapter saves must keep every tensor temporary referenced while
/// libtorch reads it (docs/architecture.md). This trains repeatedly under a collector that never stops and compares
/// the loss curve and the saved adapter with a run made before it started (a seeded run is reproducible:
/// TrainingRunTests.SameSeed_GivesTheSameLossCurve).</summary>
[Collection(Collections.TorchRng)]
public sealed class TrainingUnderGarbageCollectionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(FinetuningType.Lora, "")]
    [InlineData(FinetuningType.Lora, "quantization_bit: 4")]
    [InlineData(FinetuningType.Ptuning, "pre_seq_len: 4")]
    public async Task Train_UnderConstantGarbageCollection_GivesTheSameRun(FinetuningType type, string extra)
    {
        var (losses, adapter) = Train("reference", type, extra);
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(5) || runs < 1)
            {
                var again = Train($"run{++runs}", type, extra);
                Assert.Equal(losses, again.Losses);
                Assert.Equal(adapter, again.Adapter);
            }
        }
    }

    private (string Losses, byte[] Adapter) Train(string name, FinetuningType type, string extra)
    {
        var output = Path.Combine(_dir.Path, name);
        var yaml = _dir.File($"{name}.yaml");
        File.WriteAllText(yaml, $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: {type.ToString().ToLowerInvariant()}
            dataset: stories
            dataset_dir: {TestPaths.Datasets}
            template: alpaca
            cutoff_len: 64
            learning_rate: 1.0e-2
            max_steps: 4
            per_device_train_batch_size: 2
            logging_steps: 1
            save_steps: 2
            seed: 9
            output_dir: {output}
            {extra}
            """);
        TrainingRun.Execute(TrainConfig.From(RawConfig.Load(yaml, [])), _ => { }, CancellationToken.None);
        var losses = string.Join("\n", File.ReadAllLines(Path.Combine(output, "trainer_log.jsonl"))
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("loss").GetDouble()));
        return (losses, File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")));
    }
}
