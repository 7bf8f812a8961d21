using System.Text.Json;

namespace ModelLedger.Bench.Peers;

/// <summary>One row the peer measured: "prefill" or "decode", at a batch (sequences in one context), KV-cache type
/// and thread count.</summary>
public sealed record PeerRow(string Scenario, int Batch, string KvType, int Threads, int Tokens, double Seconds,
    double TokensPerSecond);

/// <summary>
/// What a peer script printed: its exact versions (so a figure can be reproduced), the settings it ran with, and
/// its rows. The script prints one JSON object with snake_case names; see Peers/llamacpp_decode.mjs.
/// </summary>
public sealed record PeerReport(string Peer, string NodeLlamaCpp, string LlamaCpp, string Build, string SystemInfo,
    string Model, int Vocab, int PromptTokens, int NewTokens, int Repeats, IReadOnlyList<PeerRow> Rows)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true,   // a missing field is an error
    };

    /// <summary>The report from a peer's stdout: its last line that opens a JSON object (native libraries may log
    /// lines of their own before it).</summary>
    /// <exception cref="FormatException">No JSON object, a malformed one, or rows without a positive rate.</exception>
    public static PeerReport Parse(string stdout)
    {
        var line = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new FormatException("the peer printed no JSON report");
        PeerReport? report;
        try
        {
            report = JsonSerializer.Deserialize<PeerReport>(line, Json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"the peer's report is not valid: {e.Message}", e);
        }
        if (report is null || report.Rows.Count == 0)
            throw new FormatException("the peer's report has no rows");
        foreach (var r in report.Rows)
            if (!(double.IsFinite(r.TokensPerSecond) && r.TokensPerSecond > 0))
                throw new FormatException($"the peer's row '{r.Scenario}' batch {r.Batch} has no positive tokens/s");
        return report;
    }
}
