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

/// <summary>
/// Appends entries to output_dir/trainer_log.jsonl. <see cref="Reset"/> (a new run, or a resume that drops entries
/// past the restored step) changes nothing on disk: the file is rewritten aside and renamed into place at the first
/// <see cref="Append"/>, once the run has completed a step, so a run that fails at start-up leaves the log it found.
/// </summary>
internal sealed class TrainerLog(string path)
{
    private bool _rewritePending = true;

    public List<TrainLogEntry> Entries { get; } = [];

    public void Reset(int keepUpToStep)
    {
        Entries.Clear();
        if (keepUpToStep >= 0) Entries.AddRange(Read(path).Where(e => e.Step <= keepUpToStep));
        _rewritePending = true;
    }

    /// <summary>The entries of a trainer_log.jsonl (none when it does not exist); a line that is not an entry is a
    /// <see cref="UserError"/> naming the file and line.</summary>
    public static IReadOnlyList<TrainLogEntry> Read(string path)
    {
        if (!File.Exists(path)) return [];
        var entries = new List<TrainLogEntry>();
        int number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0) continue;
            try { entries.Add(JsonSerializer.Deserialize<TrainLogEntry>(line) ?? throw new JsonException("null")); }
            catch (JsonException e)
            {
                throw new UserError($"not a log entry ({e.Message})", file: path, line: number,
                    hint: "the log is damaged: move it aside to start a fresh one");
            }
        }
        return entries;
    }

    public void Append(TrainLogEntry entry)
    {
        Entries.Add(entry);
        if (_rewritePending)
        {
            var temp = path + ".tmp";
            File.WriteAllLines(temp, Entries.Select(e => JsonSerializer.Serialize(e)));
            File.Move(temp, path, overwrite: true);
            _rewritePending = false;
        }
        else File.AppendAllText(path, JsonSerializer.Serialize(entry) + "\n");
    }

    public static string Clock(double seconds) => TimeSpan.FromSeconds(Math.Round(Math.Max(0, seconds))).ToString(@"h\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture);
}
