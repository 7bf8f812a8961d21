using ModelLedger.Ledger;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards;

/// <summary>The kind of party behind an account. An agent (an API key acting on its own) pays and contributes like a
/// person, and is linked to its owner, so the self-dealing rule and the group cap treat them as one party.</summary>
public enum PartyKind { Person, Agent }

/// <summary>Records who an account is: its kind, its owner (for agents), and links it declares to other accounts, as
/// an <c>identity.link</c> ledger event. Links only ever add: the rules join linked accounts into one party.</summary>
public static class IdentityBook
{
    public static AppendResult Link(LedgerWorkspace workspace, string account, PartyKind kind, string? owner,
        IReadOnlyList<string> links, string actor)
    {
        if (kind == PartyKind.Agent && owner is null) throw new UserError("an agent account needs an owner",
            field: "--owner");
        if (owner == account || links.Contains(account)) throw new UserError("an account cannot be linked to itself",
            field: "--owner");
        PolicyBook.EnsureAccounts(workspace, [account, .. owner is null ? Array.Empty<string>() : [owner]]);
        var payload = RewardEvents.IdentityPayload(account, kind.ToString().ToLowerInvariant(), owner, links);
        return workspace.Service.Append(RewardEvents.Identity, actor, payload);
    }
}
