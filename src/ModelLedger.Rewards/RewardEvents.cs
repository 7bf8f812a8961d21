using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards;

/// <summary>
/// The ledger events rewards writes and reads back, as canonical compact JSON (fixed key order, no duplicate keys,
/// amounts as decimal strings). Client ids make every append idempotent: <c>inference:ID</c>, <c>attribution:ID</c>,
/// <c>epoch:E</c>, <c>rewards.policy:V</c>.
/// </summary>
public static class RewardEvents
{
    public const string Policy = "rewards.policy";
    public const string Identity = "identity.link";
    public const string Inference = "inference";
    public const string Attribution = "attribution";
    /// <summary>The ledger's existing name for the epoch close event (the issue calls it <c>epoch.close</c>).</summary>
    public const string EpochClosed = "epoch.closed";
    public const string ContributionAccepted = "contribution.accepted";
    public const string ContributionRejected = "contribution.rejected";

    public static string Json(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string PolicyPayload(long version, FeePolicy policy) => Json(w =>
    {
        w.WriteNumber("version", version);
        w.WritePropertyName("policy");
        w.WriteRawValue(PolicyJson.Write(policy));
    });

    public static string IdentityPayload(string account, string kind, string? owner,
        IReadOnlyList<string> links) => Json(w =>
    {
        w.WriteString("account", account);
        w.WriteString("kind", kind);
        if (owner is null) w.WriteNull("owner"); else w.WriteString("owner", owner);
        w.WriteStartArray("links");
        foreach (var l in links.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)) w.WriteStringValue(l);
        w.WriteEndArray();
    });

    public static string InferencePayload(InferenceRecord r, long epoch, long policyVersion, UInt128 fee,
        string? feeLeaf) => Json(w =>
    {
        w.WriteString("inference", r.Id);
        w.WriteNumber("epoch", epoch);
        w.WriteNumber("policy", policyVersion);
        w.WriteString("model", r.Model);
        NullableString(w, "adapter", r.Adapter);
        NullableString(w, "adapter_owner", r.AdapterOwner);
        w.WriteString("caller", r.Caller);
        w.WriteStartObject("tokens");
        w.WriteNumber("prompt", r.PromptTokens);
        w.WriteNumber("completion", r.CompletionTokens);
        w.WriteEndObject();
        w.WriteString("fee", fee.ToString(CultureInfo.InvariantCulture));
        Refs(w, feeLeaf);
    });

    public static string AttributionPayload(InferenceRecord r, string? inferenceLeaf) => Json(w =>
    {
        w.WriteString("inference", r.Id);
        w.WriteString("method", r.Method);
        w.WriteStartObject("scores");
        foreach (var (name, share) in r.TrainingShares.OrderBy(kv => kv.Key,
            StringComparer.Ordinal)) w.WriteNumber(name, share);
        w.WriteEndObject();
        w.WriteStartArray("documents");
        foreach (var d in r.Documents.OrderBy(d => d.Document, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("document", d.Document);
            w.WriteString("owner", d.Owner);
            w.WriteNumber("share", d.Share);
            w.WriteNumber("effect", d.Effect);
            if (d.Support is double support) w.WriteNumber("support", support);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (r.Query is not null) w.WriteString("query", r.Query);
        w.WriteString("index_root", r.IndexRoot);
        Refs(w, inferenceLeaf);
    });

    private static void NullableString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }

    private static void Refs(Utf8JsonWriter w, string? leaf)
    {
        w.WriteStartArray("refs");
        if (leaf is not null) w.WriteStringValue(leaf);
        w.WriteEndArray();
    }

    /// <summary>An inference and its attribution read back from their two payloads.</summary>
    public static InferenceRecord ReadRecord(JsonElement inference, JsonElement? attribution)
    {
        var tokens = inference.GetProperty("tokens");
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        var documents = new List<DocumentShare>();
        string method = "none", indexRoot = "none";
        string? query = null;
        if (attribution is JsonElement a)
        {
            foreach (var p in a.GetProperty("scores").EnumerateObject()) scores[p.Name] = p.Value.GetDouble();
            if (a.TryGetProperty("documents", out var docs))
                foreach (var d in docs.EnumerateArray())
                    documents.Add(new DocumentShare(d.GetProperty("document").GetString()!,
                        d.GetProperty("owner").GetString()!,
                        d.GetProperty("share").GetDouble(), d.GetProperty("effect").GetDouble(),
                        d.TryGetProperty("support", out var support) ? support.GetDouble() : null));
            if (a.TryGetProperty("query", out var q)) query = q.GetString();
            method = a.GetProperty("method").GetString()!;
            indexRoot = a.TryGetProperty("index_root", out var root) ? root.GetString()! : "none";
        }
        return new InferenceRecord(inference.GetProperty("inference").GetString()!,
            inference.GetProperty("model").GetString()!,
            inference.GetProperty("adapter").GetString(), inference.GetProperty("adapter_owner").GetString(),
            inference.GetProperty("caller").GetString()!, tokens.GetProperty("prompt").GetInt64(),
                tokens.GetProperty("completion").GetInt64(),
            scores, documents, method, indexRoot, query);
    }

    public static UInt128 Amount(JsonElement e) => UInt128.Parse(e.GetString()!, NumberStyles.None,
        CultureInfo.InvariantCulture);
}
