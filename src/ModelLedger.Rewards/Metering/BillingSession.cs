using ModelLedger.Ledger;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Metering;

/// <summary>Supplies an inference's attribution at metering time: training shares {contributor: share} and
/// retrieved documents. Without a hook an inference is billed with empty attribution (its contributor pools go to the
/// remainder account).</summary>
public interface IAttributionHook
{
    (IReadOnlyDictionary<string, double> Training, IReadOnlyList<DocumentShare> Documents) Attribute(
        string inference, int[] promptIds, int[] completionIds);
}

/// <summary>
/// One billed generation, for the CLI verbs and the server: <see cref="Open"/> refuses an unfunded caller before any
/// work (a quote for the prompt plus the longest allowed completion), <see cref="Complete"/> meters the real token
/// counts. Owns its workspace and reward tables; dispose it.
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

    private BillingSession(LedgerWorkspace workspace, string inference, string caller, string model, string? adapter,
        int promptTokens,
        int maxCompletionTokens, IAttributionHook? hook)
    {
        _workspace = workspace;
        try
        {
            _tables = RewardStore.Open(workspace);
            _metering = new Metering(workspace, _tables);
            (Inference, Caller, Model, Adapter, _hook) = (inference, caller, model, adapter, hook);
            Quote = _metering.Reserve(caller, model, adapter, promptTokens, maxCompletionTokens);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static BillingSession Open(string workspace, string? inference, string caller, string model,
        string? adapter, int promptTokens,
        int maxCompletionTokens, IAttributionHook? hook = null) =>
        new(LedgerWorkspace.Open(workspace, null), inference ?? Guid.NewGuid().ToString("N"), caller, model, adapter,
            promptTokens,
            maxCompletionTokens, hook);

    public MeterResult Complete(int[] promptIds, int[] completionIds)
    {
        var (training, documents) = _hook?.Attribute(Inference, promptIds, completionIds)
            ?? (new Dictionary<string, double>(), Array.Empty<DocumentShare>());
        return _metering.Meter(new InferenceRecord(Inference, Model, Adapter, null, Caller, promptIds.Length,
            completionIds.Length,
            training, documents, _hook is null ? "none" : _hook.GetType().Name));
    }

    public void Dispose()
    {
        _tables?.Dispose();
        _workspace.Dispose();
    }
}
