using System.Text.Json;

namespace ModelLedger.Jobs;

/// <summary>The JSON-lines form of <see cref="JobEvent"/>: one compact object per line.</summary>
public static class JobEventJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Write(JobEvent e) => JsonSerializer.Serialize(e, Options);

    /// <summary>Reads one line a child process printed; a line that is not an event is a user error naming
    /// it.</summary>
    public static JobEvent Read(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<JobEvent>(line, Options)
                ?? throw new UserError($"not a job event: {line}");
        }
        catch (JsonException e) { throw new UserError($"not a job event ({e.Message}): {line}"); }
        catch (NotSupportedException e) { throw new UserError($"not a job event ({e.Message}): {line}"); }
    }
}
