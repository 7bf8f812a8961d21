using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger;

public sealed partial class LedgerService
{
    /// <summary>Runs several submissions (<see cref="LedgerGroup.Transfer"/>, <see cref="LedgerGroup.AppendBatch"/>) as
    /// ONE durable transaction (one fsync): group commit for callers such as billing, whose later steps need the
    /// leaf hashes of earlier ones. Any refusal throws <see cref="LedgerError"/> with its reason and nothing of the
    /// group is written. The group is valid only inside <paramref name="work"/>.</summary>
    public T WriteGroup<T>(Func<LedgerGroup, T> work)
    {
        try { return Write(tx => work(new LedgerGroup(this, tx))); }
        catch (RefusedException refused)
        {
            throw new LedgerError(refused.Result.Reason ?? refused.Result.Status.ToString());
        }
    }

    /// <summary>The submissions available inside <see cref="WriteGroup{T}"/>; same rules and answers as
    /// <see cref="LedgerService.Transfer"/> and <see cref="LedgerService.AppendBatch"/>, but nothing commits until the
    /// group does. Not thread-safe.</summary>
    public sealed class LedgerGroup
    {
        private readonly LedgerService _ledger;
        private readonly ILedgerTransaction _tx;

        internal LedgerGroup(LedgerService ledger, ILedgerTransaction tx) => (_ledger, _tx) = (ledger, tx);

        /// <summary>The group's store transaction, for a projection of the log kept in the same database (the reward
        /// tables): rows it writes commit with the group's entries, or not at all. It reads the entries through it
        /// (the group's own are visible); entries are written only through <see cref="Transfer"/> and
        /// <see cref="AppendBatch"/>.</summary>
        public ILedgerTransaction Transaction => _tx;

        /// <summary>Linked transfers (all or none, and a refusal abandons the group).</summary>
        public IReadOnlyList<AppendResult> Transfer(IReadOnlyList<Transfer> transfers, string actor)
        {
            if (PrecheckTransfers(transfers) is { } refused) throw Refusal(refused);
            return _ledger.ApplyTransfers(_tx, transfers, actor);
        }

        /// <summary>Events appended in order (a refusal abandons the group).</summary>
        public IReadOnlyList<AppendResult> AppendBatch(
            IReadOnlyList<(string Type, string Actor, string Payload, string? ClientId)> events)
        {
            if (PrecheckBatch(events, out var canonical, out var refs) is { } refused) throw Refusal(refused);
            return _ledger.AppendBatchIn(_tx, canonical, refs, _ => { });
        }

        private static LedgerError Refusal(AppendResult[] results) =>
            new(results.FirstOrDefault(r => r.Reason is not null
                && !r.Reason.StartsWith("not written", StringComparison.Ordinal))?.Reason ?? results[0].Reason ?? "refused");
    }
}
