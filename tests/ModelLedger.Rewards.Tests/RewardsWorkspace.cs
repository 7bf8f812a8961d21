using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;
using ModelLedger.Testing;

namespace ModelLedger.Rewards;

/// <summary>A fresh SQLite workspace with a policy in force, a mint, and helpers to fund callers, record contributions
/// and meter inferences. Disposed per test.</summary>
internal sealed class RewardsWorkspace : IDisposable
{
    private readonly TempDirectory _dir = new();
    public LedgerWorkspace Workspace { get; }
    public RewardStore Tables { get; }
    public Metering.Metering Metering { get; }

    /// <summary>Prices: 1,000 units per 1,000 tokens, prompt and completion, so a fee is prompt + completion tokens.
    /// Split 50 % training, 20 % documents, 10 % adapter owner, 20 % treasury.</summary>
    public static FeePolicy Policy(RuleSettings? rules = null) => new(
        new Price(1000, 1000), new Dictionary<string, Price>(), new Dictionary<string,
            Price> { ["ads"] = new Price(1000, 1000, "person:olga") },
        new SplitBps(5000, 2000, 1000, 2000), "rewards:treasury", "rewards:treasury", "rewards:escrow",
        rules ?? new RuleSettings(Duplicates: true, SelfDealing: true, AblationMinEffect: 0.0));

    public RewardsWorkspace(FeePolicy? policy = null)
    {
        Workspace = LedgerWorkspace.Init(_dir.Sub("ws"), "test.example/rewards", null);
        Tables = RewardStore.Open(Workspace);
        Metering = new Metering.Metering(Workspace, Tables);
        Workspace.Service.CreateAccount("mint", allowNegative: true);
        PolicyBook.Set(Workspace, Tables, policy ?? Policy(), "test");
    }

    public void Fund(string account, UInt128 amount, string from = "mint")
    {
        PolicyBook.EnsureAccounts(Workspace, [account]);
        Workspace.Service.Transfer([new Transfer($"fund:{from}:{account}:{Guid.NewGuid():N}", from, account, amount)]);
    }

    public void Contribute(string contributor, string content, double? quality = null, string? cluster = null)
    {
        var q = quality is double v ? $",\"quality\":{v.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "";
        var c = cluster is null ? "" : $",\"cluster\":\"{cluster}\"";
        Workspace.Service.Append(RewardEvents.ContributionAccepted, contributor,
            $"{{\"datanet\":\"ads\",\"contributor\":\"{contributor}\",\"content_hash\":\"{content}\"{q}{c}}}");
    }

    /// <summary>A record intake refused (a <c>contribution.rejected</c> entry, as the datanets intake writes it).</summary>
    public void Refuse(string contributor, string content, string code) =>
        Workspace.Service.Append(RewardEvents.ContributionRejected, contributor,
            $"{{\"datanet\":\"ads\",\"contributor\":\"{contributor}\",\"content_hash\":\"{content}\","
            + $"\"code\":\"{code}\",\"reason\":\"test\"}}");

    public MeterResult Meter(string id, string caller, long prompt, long completion, Dictionary<string,
        double>? training = null,
        List<DocumentShare>? documents = null, string? adapter = null, string? query = null) =>
        Metering.Meter(new InferenceRecord(id, "tiny", adapter, null, caller, prompt, completion,
            training ?? [], documents ?? [], Query: query));

    public UInt128 Balance(string account) =>
        (UInt128)(Workspace.Store.ReadAccounts().FirstOrDefault(a => a.Id == account)?.Balance ?? 0);

    public void Dispose()
    {
        Tables.Dispose();
        Workspace.Dispose();
        _dir.Dispose();
    }
}
