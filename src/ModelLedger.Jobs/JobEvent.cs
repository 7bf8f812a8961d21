using System.Text.Json.Serialization;

namespace ModelLedger.Jobs;

/// <summary>What a running job reports. Serialised as one JSON object per line with a <c>type</c> discriminator
/// (<c>mledger train CONFIG --events jsonl</c>), so a parent process reads the same records the CLI renders.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(PhaseEvent), "phase")]
[JsonDerivedType(typeof(StepEvent), "step")]
[JsonDerivedType(typeof(MessageEvent), "message")]
[JsonDerivedType(typeof(ResultEvent), "result")]
public abstract record JobEvent;

/// <summary>The job entered a phase ("loading model", "reading data", "training", "saving", "recording"…).</summary>
public sealed record PhaseEvent([property: JsonPropertyName("phase")] string Phase) : JobEvent;

/// <summary>Progress after a unit of work: an optimizer step when training, a batch of examples when
/// predicting.</summary>
/// <param name="Loss">The step's training loss; null where the job has none (prediction).</param>
/// <param name="TokensPerSecond">Throughput so far; null where the job does not count tokens.</param>
/// <param name="EtaSeconds">Estimated seconds until the job's last step.</param>
public sealed record StepEvent(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("loss")] double? Loss = null,
    [property: JsonPropertyName("tokens_per_second")] double? TokensPerSecond = null,
    [property: JsonPropertyName("eta_seconds")] double? EtaSeconds = null) : JobEvent;

/// <summary>A human-readable line (notes, warnings, the data summary, log windows).</summary>
public sealed record MessageEvent([property: JsonPropertyName("message")] string Message) : JobEvent;

/// <summary>The last event of a successful job: its typed result (as the job's JSON shape).</summary>
public sealed record ResultEvent([property: JsonPropertyName("result")] System.Text.Json.Nodes.JsonObject Result)
    : JobEvent;
