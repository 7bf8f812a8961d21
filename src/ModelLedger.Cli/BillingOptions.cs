using System.CommandLine;
using System.Globalization;
using ModelLedger.Rewards.Metering;

namespace ModelLedger.Cli;

/// <summary><c>--bill CALLER</c> for the verbs that generate: refuse an unfunded caller before generating, meter the
/// tokens after (docs/rewards.md). Without <c>--bill</c> nothing is billed.</summary>
internal sealed class BillingOptions
{
    public readonly Option<string?> Bill = new("--bill") { Description = "Account that pays for this inference (fee policy of the workspace)" };
    public readonly Option<string> Workspace = new("--workspace") { DefaultValueFactory = _ => ".mledger",
        Description = "Ledger workspace folder (with --bill)" };
    public readonly Option<string?> InferenceId = new("--inference-id") { Description = "Idempotency key: a retry with the same id is billed once" };

    public IEnumerable<Option> All => [Bill, Workspace, InferenceId];

    /// <summary>The billing session, or null when --bill is absent. The adapter billed is the active one.</summary>
    public BillingSession? Begin(ParseResult p, ModelOptions model, int promptTokens, int maxNewTokens)
    {
        if (p.GetValue(Bill) is not string caller) return null;
        var modelName = Path.GetFileName(Path.TrimEndingDirectorySeparator(p.GetValue(model.Model)!));
        var adapters = p.GetValue(model.Adapters) ?? [];
        var adapter = p.GetValue(model.UseAdapter) is string use ? (use == "none" ? null : use)
            : adapters.Length == 0 ? null : AdapterName(adapters[^1]);
        return BillingSession.Open(p.GetValue(Workspace)!, p.GetValue(InferenceId), caller, modelName, adapter,
            promptTokens, maxNewTokens);
    }

    private static string AdapterName(string spec)
    {
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? spec[..eq] : Path.GetFileName(Path.TrimEndingDirectorySeparator(spec));
    }

    /// <summary>One line on stderr saying what was billed.</summary>
    public static void Report(MeterResult r) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"billed {r.Fee} for inference {r.Inference} (epoch {r.Epoch}, policy v{r.PolicyVersion}{(r.AlreadyBilled ? ", already billed: not charged again" : "")})"));
}
