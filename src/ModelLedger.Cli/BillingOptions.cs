using System.CommandLine;
using System.Globalization;
using ModelLedger.Attribution.Influence;
using ModelLedger.Rewards.Metering;

namespace ModelLedger.Cli;

/// <summary><c>--bill CALLER</c> for the verbs that generate: refuse an unfunded caller before generating, meter the
/// tokens after, with training attribution from the active adapter's gradient index when it has one
/// (docs/rewards.md). Without <c>--bill</c> nothing is billed. A verb that already has a workspace or inference-id
/// option (<c>rag ask</c>) passes its own.</summary>
internal sealed class BillingOptions
{
    public readonly Option<string?> Bill = new("--bill") { Description = "Account that pays for this inference (fee policy of the workspace)" };
    public readonly Option<string?> Workspace;
    public readonly Option<string?> InferenceId;
    private readonly bool _ownOptions;

    public BillingOptions(Option<string?>? workspace = null, Option<string?>? inferenceId = null)
    {
        _ownOptions = workspace is null;
        Workspace = workspace ?? new("--workspace") { Description = "Ledger workspace folder (with --bill; default .mledger)" };
        InferenceId = inferenceId ?? new("--inference-id") { Description = "Idempotency key: a retry with the same id is billed once" };
    }

    public IEnumerable<Option> All => _ownOptions ? [Bill, Workspace, InferenceId] : [Bill];

    /// <summary>A billing context, or null when --bill is absent. Opens the adapter's attribution index (if any) so a
    /// broken one fails before anything is generated; dispose it.</summary>
    public Billing? Prepare(ParseResult p, ModelOptions model)
    {
        if (p.GetValue(Bill) is not string caller) return null;
        var modelDir = p.GetValue(model.Model)!;
        var (adapter, adapterDir) = ActiveAdapter(p, model);
        var hook = IndexAttributionHook.Open(adapterDir, modelDir, p.GetValue(model.Device)!);
        return new Billing(p.GetValue(Workspace) ?? ".mledger", caller,
            Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDir)), adapter, p.GetValue(InferenceId), hook);
    }

    /// <summary>The adapter the verb generates with (name as the policy prices it, and its folder): the one
    /// --use-adapter names, else the last --adapter; none for <c>--use-adapter none</c>.</summary>
    private static (string? Name, string? Directory) ActiveAdapter(ParseResult p, ModelOptions model)
    {
        var specs = (p.GetValue(model.Adapters) ?? []).Select(Spec).ToList();
        return p.GetValue(model.UseAdapter) switch
        {
            "none" => (null, null),
            string use => specs.LastOrDefault(s => s.Name == use) is { Name: not null } s ? s : (use, null),
            null => specs.Count == 0 ? (null, null) : specs[^1],
        };
    }

    private static (string? Name, string? Directory) Spec(string spec)
    {
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? (spec[..eq], spec[(eq + 1)..])
            : (Path.GetFileName(Path.TrimEndingDirectorySeparator(spec)), spec);
    }

    /// <summary>One line on stderr saying what was billed.</summary>
    public static void Report(MeterResult r) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"billed {r.Fee} for inference {r.Inference} (epoch {r.Epoch}, policy v{r.PolicyVersion}{(r.AlreadyBilled ? ", already billed: not charged again" : "")})"));
}

/// <summary>Who pays and for which model and adapter, for one or more inferences of a command (a chat bills each
/// reply as <c>ID:N</c>). Owns the attribution hook.</summary>
internal sealed class Billing(string workspace, string caller, string model, string? adapter, string? inferenceId,
    IndexAttributionHook? hook) : IDisposable
{
    /// <summary>Quotes one inference and refuses it when the caller cannot pay the longest completion allowed.
    /// <paramref name="turn"/> (chat) suffixes the inference id so that each reply is billed once;
    /// <paramref name="inference"/> replaces a missing --inference-id.</summary>
    public BillingSession Begin(int promptTokens, int maxNewTokens, int? turn = null, string? inference = null)
    {
        var id = (inferenceId ?? inference ?? (turn is null ? null : _session), turn) switch
        {
            (null, _) => null,
            (string i, null) => i,
            (string i, int n) => string.Create(CultureInfo.InvariantCulture, $"{i}:{n}"),
        };
        return BillingSession.Open(workspace, new BillingRequest(id, caller, model, adapter, promptTokens,
            maxNewTokens), hook);
    }

    /// <summary>The base id of a chat's replies when no --inference-id is given: fresh per command.</summary>
    private readonly string _session = Guid.NewGuid().ToString("N");

    public void Dispose() => hook?.Dispose();
}
