namespace ModelLedger.Rewards;

/// <summary>
/// Account naming. Ledger account ids are plain strings; parties are named <c>kind:name</c> (<c>contributor:alice</c>,
/// <c>agent:bot-7</c>, <c>person:carol</c>). Attribution names contributors and document owners by their datanet name
/// (<c>alice</c>); a name without a colon is paid into <c>contributor:NAME</c>, one with a colon is already an account.
/// </summary>
public static class RewardAccounts
{
    public static string Contributor(string name) => name.Contains(':',
        StringComparison.Ordinal) ? name : "contributor:" + name;

    /// <summary>The id of the transfer that debits an inference's fee from its caller into escrow.</summary>
    public static string FeeTransfer(string inference) => $"fee:{inference}";

    /// <summary>The id of the transfer that pays an account its settlement for an epoch.</summary>
    public static string SettlementTransfer(long epoch, string account) => $"reward:{epoch}:{account}";

    public static string SettlementPrefix(long epoch) => $"reward:{epoch}:";
}
