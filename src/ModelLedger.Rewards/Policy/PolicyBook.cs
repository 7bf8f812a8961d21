using ModelLedger.Ledger;

namespace ModelLedger.Rewards.Policy;

/// <summary>Sets the workspace's fee policy: each new version is a <c>rewards.policy</c> ledger event (so settlement
/// and verify know which version was in force at every entry); setting the version already in force is a no-op.
/// Creates the escrow, treasury and remainder accounts the policy names.</summary>
public static class PolicyBook
{
    public static (long Version, bool Changed) Set(LedgerWorkspace workspace, RewardStore rewards, FeePolicy policy,
        string actor)
    {
        rewards.Sync(workspace.Store);
        var latest = rewards.LatestPolicy();
        if (latest is var (current,
            inForce) && PolicyJson.Write(inForce) == PolicyJson.Write(policy)) return (current, false);
        long version = (latest?.Version ?? 0) + 1;
        EnsureAccounts(workspace, [policy.EscrowAccount, policy.TreasuryAccount, policy.RemainderAccount,
            .. policy.Adapters.Values.Select(p => p.Owner).OfType<string>()]);
        workspace.Service.Append(RewardEvents.Policy, actor, RewardEvents.PolicyPayload(version, policy),
            $"rewards.policy:{version}");
        rewards.Sync(workspace.Store);
        return (version, true);
    }

    /// <summary>Creates each account that does not exist yet (ordinary accounts: they never go negative).</summary>
    public static void EnsureAccounts(LedgerWorkspace workspace, IEnumerable<string> accounts)
    {
        var existing = workspace.Store.ReadAccounts().Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var id in accounts.Distinct(StringComparer.Ordinal).Where(id => !existing.Contains(id)))
            workspace.Service.CreateAccount(id, allowNegative: false, actor: "rewards");
    }
}
