using System.Text.Json.Nodes;
using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Tokenization;
using ModelLedger.Testing;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Tuning.Training;

[Collection(Collections.TorchRng)]
public sealed class AccumulationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Four different texts of one token length: with no padding, a micro-batch mean over 2 rows divided by 2
    /// accumulation steps is exactly the mean over the 4 rows, so the two ways must train the same weights.</summary>
    private string EqualLengthDataset()
    {
        string[] candidates = ["Tom saw a big cat.", "Lily had a red dog.", "The sun was very hot.",
            "Ben ate a small cake.", "Sue met a green frog.", "Max ran to the park.", "Mia found a blue box.",
            "Sam had a new toy.", "The bird sang a song.", "Anna saw a tall tree.", "Tim lost his red hat.",
            "The cat sat on a mat."];
        using var tokenizer = TextTokenizer.Load(TestPaths.TinyStories);
        var rows = candidates.GroupBy(t => tokenizer.Encode(t, addSpecialTokens: true).Length)
            .OrderByDescending(g => g.Count()).First().Take(4).ToArray();
        Assert.Equal(4, rows.Length);
        var dir = _dir.Sub("data");
        File.WriteAllLines(Path.Combine(dir, "rows.jsonl"),
            rows.Select(r => new JsonObject { ["text"] = r }.ToJsonString()));
        File.WriteAllText(Path.Combine(dir, "dataset_info.json"),
            """{"rows": {"file_name": "rows.jsonl", "columns": {"prompt": "text"}}}""");
        return dir;
    }

    /// <summary>Four texts of different token lengths, so micro-batches carry different label counts.</summary>
    private string UnequalLengthDataset()
    {
        string[] rows = ["Tom saw a big cat.", "Lily had a red dog and a very small green frog.", "The sun was hot.",
            "Ben ate a small cake with his mom, his dad and his little sister in the park."];
        var dir = _dir.Sub("unequal");
        File.WriteAllLines(Path.Combine(dir, "rows.jsonl"),
            rows.Select(r => new JsonObject { ["text"] = r }.ToJsonString()));
        File.WriteAllText(Path.Combine(dir, "dataset_info.json"),
            """{"rows": {"file_name": "rows.jsonl", "columns": {"prompt": "text"}}}""");
        return dir;
    }

    private Dictionary<string, float[]> Train(string data, string name, int batch, int accumulation)
    {
        var path = _dir.File($"{name}.yaml");
        File.WriteAllText(path, $"""
            model_name_or_path: {TestPaths.TinyStories}
            stage: pt
            packing: false
            finetuning_type: lora
            lora_target: q_proj,v_proj
            dataset: rows
            dataset_dir: {data}
            cutoff_len: 32
            learning_rate: 1.0e-2
            max_steps: 3
            per_device_train_batch_size: {batch}
            gradient_accumulation_steps: {accumulation}
            max_grad_norm: 0
            logging_steps: 1
            save_steps: 100
            seed: 5
            output_dir: {Path.Combine(_dir.Path, name)}
            """);
        TrainingRun.Execute(TrainConfig.From(RawConfig.Load(path, [])), _ => { }, CancellationToken.None);
        var file = SafetensorsFile.Open(Path.Combine(_dir.Path, name, "adapter_model.safetensors"));
        return file.Entries.Keys.ToDictionary(k => k, k =>
        {
            using var t = file.Read(k);
            return t.data<float>().ToArray();
        });
    }

    [Fact]
    public void TwoMicroBatchesOfTwo_TrainLikeOneBatchOfFour()
    {
        var data = EqualLengthDataset();
        var whole = Train(data, "whole", batch: 4, accumulation: 1);
        var accumulated = Train(data, "accumulated", batch: 2, accumulation: 2);
        var single = Train(data, "single", batch: 1, accumulation: 4);
        Assert.Equal(whole.Keys.Order(), accumulated.Keys.Order());
        foreach (var (name, values) in whole)
        {
            for (int i = 0; i < values.Length; i++)
            {
                Assert.Equal(values[i], accumulated[name][i], 1e-5);
                Assert.Equal(values[i], single[name][i], 1e-5);
            }
        }
        // B moved away from its zero start, so the comparison is not between untouched tensors.
        Assert.Contains(whole, kv => kv.Key.Contains("lora_B", StringComparison.Ordinal)
            && kv.Value.Any(v => Math.Abs(v) > 1e-4));
    }

    /// <summary>HF transformers (>= 4.46) divides each micro-batch's summed loss by the label count of the whole
    /// step, so accumulating micro-batches of rows with different lengths trains exactly like one padded batch of
    /// the same rows (whose loss is the token-weighted mean). Averaging per-micro-batch means would not.</summary>
    [Fact]
    public void MicroBatchesOfUnequalRows_TrainLikeOneBatch()
    {
        var data = UnequalLengthDataset();
        var whole = Train(data, "u-whole", batch: 4, accumulation: 1);
        var single = Train(data, "u-single", batch: 1, accumulation: 4);
        foreach (var (name, values) in whole)
            for (int i = 0; i < values.Length; i++)
                Assert.Equal(values[i], single[name][i], 1e-5);
    }
}
