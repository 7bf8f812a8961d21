using ModelLedger.Data.Datasets;
using ModelLedger.Data.Chat;
using System.Text.Json;
using ModelLedger.Testing;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Training;

namespace ModelLedger.Attribution.Influence;

/// <summary>
/// A datanet-snapshot-shaped folder (data.jsonl, provenance.jsonl, snapshot.json, dataset_info.json) with 12 of the
/// test stories owned by three contributors, and a LoRA adapter trained on it for 6 steps on TinyStories-656K with a
/// checkpoint every 3 steps. Built once per test class; deleted on dispose.
/// </summary>
public sealed class TrainedAdapter : IDisposable
{
    private readonly TempDirectory _dir = new();

    public string Data { get; }
    public string Adapter { get; }
    public IReadOnlyList<(string Instruction, string Output)> Records { get; }
    public static readonly string[] Contributors = ["ann", "bob", "cat"];
    public const string Root = "ab12";

    public TrainedAdapter()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Datasets, "stories_alpaca.json")));
        Records = doc.RootElement.EnumerateArray().Take(12)
            .Select(e => (e.GetProperty("instruction").GetString()!, e.GetProperty("output").GetString()!)).ToList();
        Data = _dir.Sub("snapshot");
        File.WriteAllLines(Path.Combine(Data, "data.jsonl"),
            Records.Select(r => JsonSerializer.Serialize(new { instruction = r.Instruction, input = "", output = r.Output })));
        File.WriteAllLines(Path.Combine(Data, "provenance.jsonl"), Records.Select((_, i) =>
            JsonSerializer.Serialize(new { row = i, item = $"item-{i}", contributor = ContributorOf(i), key_id = "00", content_hash = "00" })));
        File.WriteAllText(Path.Combine(Data, "dataset_info.json"), """{"stories":{"file_name":"data.jsonl"}}""");
        File.WriteAllText(Path.Combine(Data, "snapshot.json"), $$"""{"version":1,"datanet":"stories","format":"alpaca","root":"{{Root}}","items":12}""");
        Adapter = Path.Combine(_dir.Path, "adapter");
        var yaml = _dir.File("train.yaml");
        File.WriteAllText(yaml, $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            lora_rank: 4
            dataset: stories
            dataset_dir: {Data}
            template: alpaca
            cutoff_len: 96
            learning_rate: 1.0e-2
            max_steps: 6
            per_device_train_batch_size: 4
            logging_steps: 1
            save_steps: 3
            seed: 5
            output_dir: {Adapter}
            """);
        TrainingRun.Execute(TrainConfig.From(RawConfig.Load(yaml, [])), _ => { }, CancellationToken.None);
    }

    public static string ContributorOf(int record) => Contributors[record % 3];

    public IndexRequest Request(string name, int dims = 256) =>
        new(Adapter, Data, "stories", TestPaths.TinyStories, "alpaca", 96, Out: Path.Combine(_dir.Path, name), Options: new IndexOptions(dims, Seed: 1));

    public void Dispose() => _dir.Dispose();
}
