using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelLedger.Tuning.Training;

/// <summary>One line of trainer_log.jsonl, with LLaMA-Factory's field names (so its plotting tools read it) plus ours.</summary>
public sealed record TrainLogEntry(
    [property: JsonPropertyName("current_steps")] int Step,
    [property: JsonPropertyName("total_steps")] int TotalSteps,
    [property: JsonPropertyName("loss")] double? Loss,
    [property: JsonPropertyName("eval_loss")] double? EvalLoss,
    [property: JsonPropertyName("lr")] double LearningRate,
    [property: JsonPropertyName("epoch")] double Epoch,
    [property: JsonPropertyName("percentage")] double Percentage,
    [property: JsonPropertyName("elapsed_time")] string Elapsed,
    [property: JsonPropertyName("remaining_time")] string Remaining,
    [property: JsonPropertyName("tokens_per_second")] double TokensPerSecond,
    [property: JsonPropertyName("elapsed_seconds")] double ElapsedSeconds);

/// <summary>Appends entries to output_dir/trainer_log.jsonl; on resume drops entries past the restored step.</summary>
internal sealed class TrainerLog(string path)
{
    public List<TrainLogEntry> Entries { get; } = [];

    public void Reset(int keepUpToStep)
    {
        Entries.Clear();
        Entries.AddRange(Read(path).Where(e => e.Step <= keepUpToStep));
        File.WriteAllLines(path, Entries.Select(e => JsonSerializer.Serialize(e)));
    }

    /// <summary>The entries of a trainer_log.jsonl (none when it does not exist).</summary>
    public static IReadOnlyList<TrainLogEntry> Read(string path) => File.Exists(path)
        ? File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<TrainLogEntry>(l)!).ToList()
        : [];

    public void Append(TrainLogEntry entry)
    {
        Entries.Add(entry);
        File.AppendAllText(path, JsonSerializer.Serialize(entry) + "\n");
    }

    public static string Clock(double seconds) => TimeSpan.FromSeconds(Math.Round(Math.Max(0, seconds))).ToString(@"h\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture);
}
