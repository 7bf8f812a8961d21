using ModelLedger.Ledger;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Metering;

/// <summary>What an inference drew on, as metering records it: training shares {contributor: share}, retrieved
/// documents, the method that computed them and the root of the index or snapshot it used.</summary>
public sealed record InferenceAttribution(IReadOnlyDictionary<string, double> Training,
    IReadOnlyList<DocumentShare> Documents, string Method, string IndexRoot)
{
    /// <summary>Nothing attributed: both contributor pools go to the policy's remainder account.</summary>
    public static InferenceAttribution None { get; } =
        new(new Dictionary<string, double>(), [], "none", "none");

    /// <summary>This training attribution with <paramref name="documents"/> added (a RAG answer). The method names
    /// both parts; the index root stays the training index's when one was used, else the documents'.</summary>
    public InferenceAttribution WithDocuments(IReadOnlyList<DocumentShare> documents, string method, string root) =>
        Method == "none"
            ? new(Training, documents, method, root)
            : new(Training, documents, $"{Method}+{method}", IndexRoot);
}

/// <summary>Supplies an inference's training attribution at metering time, from the text that was generated.
/// Implementations MUST return shares that are ≥ 0 and sum to 1, or an empty set when nothing had positive
/// influence.</summary>
public interface IAttributionHook
{
    InferenceAttribution Attribute(string inference, string prompt, string completion);
}

/// <summary>
/// One billed generation, for the CLI verbs and the server: <see cref="Open"/> refuses an unfunded caller before any
/// work (a quote for the prompt plus the longest allowed completion), <see cref="Complete"/> meters the real token
/// counts with the attribution of the hook (none without one). Owns its workspace and reward tables; dispose it.
/// </summary>
public sealed class BillingSession : IDisposable
{
    private readonly LedgerWorkspace _workspace;
    private readonly RewardStore _tables;
    private readonly Metering _metering;
    private readonly IAttributionHook? _hook;
    public string Inference { get; }
    public string Caller { get; }
    public string Model { get; }
    public string? Adapter { get; }
    public Quote Quote { get; }

    private BillingSession(LedgerWorkspace workspace, BillingRequest request, IAttributionHook? hook)
    {
        _workspace = workspace;
        try
        {
            _tables = RewardStore.Open(workspace);
            _metering = new Metering(workspace, _tables);
            (Inference, Caller, Model, Adapter, _hook) = (request.Inference ?? Guid.NewGuid().ToString("N"),
                request.Caller, request.Model, request.Adapter, hook);
            Quote = _metering.Reserve(Caller, Model, Adapter, request.PromptTokens, request.MaxCompletionTokens);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Opens the workspace and quotes the request; throws <see cref="UserError"/> when the caller cannot pay
    /// for the longest completion allowed.</summary>
    public static BillingSession Open(string workspace, BillingRequest request, IAttributionHook? hook = null) =>
        new(LedgerWorkspace.Open(workspace, null), request, hook);

    /// <summary>Meters the generation: the hook's training attribution plus <paramref name="documents"/> (a RAG
    /// answer's retrieved documents, with the method and snapshot root that attributed them; the prompt is then the
    /// question, recorded as its <see cref="AnswerSupport.QueryId"/>).</summary>
    public MeterResult Complete(int promptTokens, int completionTokens, string prompt, string completion,
        (IReadOnlyList<DocumentShare> Shares, string Method, string Root)? documents = null)
    {
        var attribution = _hook?.Attribute(Inference, prompt, completion) ?? InferenceAttribution.None;
        if (documents is var (shares, method, root)) attribution = attribution.WithDocuments(shares, method, root);
        return _metering.Meter(new InferenceRecord(Inference, Model, Adapter, null, Caller, promptTokens,
            completionTokens, attribution.Training, attribution.Documents, attribution.Method, attribution.IndexRoot,
            documents is null ? null : AnswerSupport.QueryId(prompt)));
    }

    public void Dispose()
    {
        _tables?.Dispose();
        _workspace.Dispose();
    }
}

/// <summary>A request to bill: inference id (null: a fresh one), paying account, model and adapter names (as the
/// policy prices them), prompt tokens and the longest completion allowed.</summary>
public sealed record BillingRequest(string? Inference, string Caller, string Model, string? Adapter, int PromptTokens,
    int MaxCompletionTokens);
