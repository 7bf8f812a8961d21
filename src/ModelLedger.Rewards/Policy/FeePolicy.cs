namespace ModelLedger.Rewards.Policy;

/// <summary>Price of 1,000 tokens in the ledger's smallest unit, prompt and completion separately; an adapter's entry
/// may name the account that owns it (it receives the adapter-owner share).</summary>
public sealed record Price(UInt128 PromptPer1K, UInt128 CompletionPer1K, string? Owner = null);

/// <summary>How a fee is divided, in basis points that sum to exactly 10,000.</summary>
public sealed record SplitBps(int Training, int Documents, int AdapterOwner, int Treasury)
{
    public const int Whole = 10_000;
    public int Sum => Training + Documents + AdapterOwner + Treasury;
}

/// <summary>Contribution rate limit: at most <see cref="MaxContributions"/> items per contributor in any window of
/// <see cref="WindowSeconds"/> earn credit.</summary>
public sealed record RateLimit(int MaxContributions, long WindowSeconds);

/// <summary>The anti-gaming rules applied at settlement (docs/rewards.md explains each). A null threshold is off.
/// <see cref="MinSupport"/>: a retrieved document earns only the part of its slice equal to its answer support, and
/// nothing below this; <see cref="HubRatio"/>: a document retrieved in one epoch for more distinct questions than
/// this many times the median document (<see cref="HubBaseline"/>: the median over documents, or over owners, each
/// owner counted once with its median document) earns nothing; <see cref="MaxRefusedShare"/>: a linked group more of whose
/// datanet submissions intake refused than this share earns nothing for its accepted items either;
/// <see cref="WashTradingShare"/>: a linked group more of whose contributor accruals in an epoch came from its own
/// calls than this share forfeits the rest of that epoch's contributor rewards too; <see cref="SybilMinIdentities"/>:
/// a linked group (funding, declared links) joining at least this many contributor identities that never declared
/// themselves one party earns nothing (<see cref="Settlement.SybilClusters"/>).</summary>
public sealed record RuleSettings(
    bool Duplicates = true,
    bool SelfDealing = true,
    double? AblationMinEffect = 0.0,
    double? MinQuality = null,
    int? GroupCapBps = null,
    RateLimit? RateLimit = null,
    double? MinSupport = null,
    double? HubRatio = null,
    double? MaxRefusedShare = null,
    double? WashTradingShare = null,
    int? SybilMinIdentities = null,
    HubBaseline HubBaseline = HubBaseline.Documents);

/// <summary>What the <c>hub</c> rule compares a document's breadth with: the median over the epoch's retrieved
/// documents, or the median over their owners of each owner's median document, so that one owner's flood of documents
/// does not define what a typical document is.</summary>
public enum HubBaseline { Documents, Owners }

/// <summary>
/// One version of the fee policy: prices per model or adapter (with a default), the split, the accounts that receive
/// the treasury share and the rounding remainder, the escrow that holds fees until their epoch settles, and the
/// rules. Immutable; every version in force is a <c>rewards.policy</c> ledger event.
/// </summary>
public sealed record FeePolicy(
    Price Default,
    IReadOnlyDictionary<string, Price> Models,
    IReadOnlyDictionary<string, Price> Adapters,
    SplitBps Split,
    string TreasuryAccount,
    string RemainderAccount,
    string EscrowAccount,
    RuleSettings Rules)
{
    /// <summary>The adapter's entry when it has one, else the model's, else the default.</summary>
    public Price PriceFor(string model, string? adapter) =>
        adapter is not null && Adapters.TryGetValue(adapter, out var a) ? a
        : Models.TryGetValue(model, out var m) ? m : Default;

    /// <summary>The fee of one inference: prompt and completion priced per 1,000 tokens, summed, rounded up to the next
    /// unit (so no inference is free by being short). Integer arithmetic only.</summary>
    public UInt128 Fee(string model, string? adapter, long promptTokens, long completionTokens)
    {
        if (promptTokens < 0 || completionTokens < 0) throw new ArgumentOutOfRangeException(nameof(promptTokens),
            "token counts are >= 0");
        var price = PriceFor(model, adapter);
        var milli = checked(price.PromptPer1K * (UInt128)promptTokens + price.CompletionPer1K * (UInt128)completionTokens);
        return milli / 1000 + (milli % 1000 == 0 ? UInt128.Zero : UInt128.One);
    }
}
