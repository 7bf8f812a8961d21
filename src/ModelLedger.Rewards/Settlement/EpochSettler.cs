using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Settlement;

/// <summary>
/// Closes an epoch: computes its settlement from the ledger (<see cref="SettlementCalculator"/>), appends the
/// <c>epoch.closed</c> event (client id <c>epoch:E</c>) — from then on metering accrues to the next epoch — and pays
/// the payouts from escrow as one batch of linked transfers (all or nothing, ids <c>reward:E:ACCOUNT</c>). Settling a
/// closed epoch again re-reads the recorded settlement and re-submits the same transfers, which the ledger answers as
/// existing: settling twice pays once, and a settle interrupted after the close is finished by running it again. An
/// epoch with an inference still awaiting its attribution event is not closed (its split is not known yet).
/// </summary>
public static class EpochSettler
{
    public static (EpochSettlement Settlement, bool AlreadyClosed) Settle(LedgerWorkspace workspace,
        RewardStore rewards, long epoch, string actor)
    {
        var replay = LedgerReplay.Read(workspace.Store);
        bool closed = replay.Closed.TryGetValue(epoch, out var recorded);
        EpochSettlement settlement;
        if (closed) settlement = EpochSettlement.FromPayload(recorded!.Payload);
        else
        {
            if (epoch != replay.CurrentEpoch)
                throw new UserError($"epoch {epoch} cannot be settled: the open epoch is {replay.CurrentEpoch}",
                    field: "--epoch",
                    hint: replay.Closed.Count == 0 ? null : $"closed epochs: {string.Join(", ", replay.Closed.Keys.Order())}");
            // An attribution computed after its bill (the server's background queue) must land before the close:
            // the settlement and its replay must both see it.
            var waiting = replay.Inferences.Values.Where(m => m.Epoch == epoch && !m.Attributed)
                .Select(m => m.Record.Id).Order(StringComparer.Ordinal).ToList();
            if (waiting.Count > 0)
                throw new UserError($"epoch {epoch} cannot be settled yet: {waiting.Count} of its inferences await " +
                    $"their attribution ({string.Join(", ", waiting.Take(3))}{(waiting.Count > 3 ? ", ..." : "")})",
                    field: "--epoch",
                    hint: "a server attributes in the background; settle again once it has recorded them");
            settlement = SettlementCalculator.Compute(replay, epoch, replay.Size - 1);
            workspace.Service.Append(RewardEvents.EpochClosed, actor, settlement.Payload(), $"epoch:{epoch}");
        }
        var payouts = settlement.Payouts();
        if (payouts.Count > 0)
        {
            PolicyBook.EnsureAccounts(workspace, payouts.Select(p => p.Account));
            workspace.Service.Transfer(payouts.Select(p =>
                new Transfer(RewardAccounts.SettlementTransfer(epoch, p.Account), settlement.EscrowAccount, p.Account,
                    p.Amount)).ToList(), actor);
        }
        rewards.Sync(workspace.Store);
        return (settlement, closed);
    }
}
