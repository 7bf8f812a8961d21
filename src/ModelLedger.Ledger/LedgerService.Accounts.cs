using System.Text.Json;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger;

public sealed partial class LedgerService
{
    public AppendResult CreateAccount(string id, bool allowNegative, string actor = "ledger") => SubmitAccount(id, allowNegative, actor).OrThrow();

    /// <summary>Creates an account (an account.created entry and its accounts row, in one transaction). An account id
    /// already created with the same flag answers Exists with its entry; with the other flag ExistsWithDifferentContent.
    /// The flag compared is the one in the log entry, not the derived row.</summary>
    public AppendResult SubmitAccount(string id, bool allowNegative, string actor = "ledger")
    {
        if (EntryRules.IdProblem(id, "account id") is string problem) return AppendResult.Refused(problem);
        return Guarded(() => Write(tx =>
        {
            if (tx.ReadAccount(id) is StoredAccount existing)
            {
                bool logged = LoggedAccount(tx, id, existing.EntryIndex);
                if (logged != allowNegative)
                    throw new RefusedException(new AppendResult(existing.EntryIndex, "", -1, AppendStatus.ExistsWithDifferentContent,
                        $"account '{id}' already exists with allow_negative {logged.ToString().ToLowerInvariant()} (entry {existing.EntryIndex})"));
                return Existing(tx, existing.EntryIndex);
            }
            var result = AppendIn(tx, EventTypes.AccountCreated, actor, EntryRules.AccountPayload(id, allowNegative), null, []);
            tx.InsertAccount(new Account(id, allowNegative, 0, 0), result.Index);
            return result;
        }));
    }

    /// <summary>Linked transfers: all are accepted (each becomes an entry) or none is; a transfer already recorded with
    /// the same content is reported as existing.</summary>
    public IReadOnlyList<AppendResult> Transfer(IReadOnlyList<Transfer> transfers, string actor = "ledger")
    {
        var results = SubmitTransfers(transfers, actor);
        foreach (var r in results) r.OrThrow();
        return results;
    }

    /// <summary>The outcome form of <see cref="Transfer"/>: one result per transfer; when one is refused, all are
    /// (the failing one carries the reason) and nothing is written. A retried transfer is compared with its entry in
    /// the log, and the allow-negative flags come from the accounts' entries.</summary>
    public IReadOnlyList<AppendResult> SubmitTransfers(IReadOnlyList<Transfer> transfers, string actor = "ledger")
    {
        if (PrecheckTransfers(transfers) is { } early) return early;
        try { return Write(tx => ApplyTransfers(tx, transfers, actor)); }
        catch (RefusedException refused) { return RefuseBatch(transfers.Count, refused.At, refused.Result); }
    }

    /// <summary>The checks made before taking the write lock; the refusals of the whole batch when one fails.</summary>
    private static AppendResult[]? PrecheckTransfers(IReadOnlyList<Transfer> transfers)
    {
        if (transfers.Count == 0) return [AppendResult.Refused("no transfers given")];
        for (int i = 0; i < transfers.Count; i++)
        {
            var t = transfers[i];
            if ((EntryRules.IdProblem(t.Id, "transfer id") ?? EntryRules.IdProblem(t.Debit, "debit account") ?? EntryRules.IdProblem(t.Credit, "credit account")) is string problem)
                return RefuseBatch(transfers.Count, i, AppendResult.Refused(problem));
        }
        if (transfers.Select(t => t.Id).Distinct().Count() != transfers.Count) return [.. transfers.Select(_ => AppendResult.Refused("a transfer id appears twice in one batch"))];
        return null;
    }

    private List<AppendResult> ApplyTransfers(ILedgerTransaction tx, IReadOnlyList<Transfer> transfers, string actor)
    {
        var book = new AccountBook();
        foreach (var id in transfers.SelectMany(t => new[] { t.Debit, t.Credit }).Distinct())
            if (tx.ReadAccount(id) is StoredAccount a) book.Load(a.Account with { AllowNegative = LoggedAccount(tx, id, a.EntryIndex) });
        var recorded = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var t in transfers)
            if (tx.ReadTransfer(t.Id) is StoredTransfer s)
            {
                book.Load(LoggedTransfer(tx, t.Id, s.EntryIndex));
                recorded[t.Id] = s.EntryIndex;
            }
        var (failedAt, status, reason) = book.ApplyLinked(transfers);
        if (failedAt >= 0)
        {
            var suffix = transfers.Count > 1 ? "; no transfer of the batch was applied" : "";
            throw new RefusedException(status == TransferStatus.ExistsWithDifferentContent
                ? new AppendResult(recorded[transfers[failedAt].Id], "", -1, AppendStatus.ExistsWithDifferentContent, reason + suffix)
                : AppendResult.Refused(reason + suffix), failedAt);
        }
        var results = new List<AppendResult>();
        var rows = new List<StoredEntry>();
        CatchUp(tx.ReadEntries(_tree.Size));   // once: the transaction holds the write lock
        foreach (var t in transfers)
        {
            if (recorded.TryGetValue(t.Id, out var index)) { results.Add(Existing(index)); continue; }
            var result = AppendIn(tx, EventTypes.Transfer, actor, EntryRules.TransferPayload(t), null, [], caughtUp: true,
                deferred: rows);
            tx.SaveTransfer(t, result.Index);
            results.Add(result);
        }
        tx.AppendMany(rows);
        foreach (var id in transfers.SelectMany(t => new[] { t.Debit, t.Credit }).Distinct()) tx.UpdateBalances(book.Accounts[id]);
        return results;
    }

    /// <summary>The allow-negative flag of account <paramref name="id"/> as its account.created entry records it.</summary>
    private bool LoggedAccount(ILedgerTransaction tx, string id, long entryIndex)
    {
        // A committed entry never changes, so what it was read to say is kept (billing moves money from the same
        // callers group after group); a row that points elsewhere still misses the cache and is refused below.
        if (_accountEntries.TryGetValue(entryIndex, out var known) && known.Id == id) return known.AllowNegative;
        using var payload = LoggedPayload(tx, entryIndex, EventTypes.AccountCreated, id, "accounts");
        bool allowNegative = payload.RootElement.GetProperty("allow_negative").GetBoolean();
        if (entryIndex < _committed) _accountEntries[entryIndex] = (id, allowNegative);
        return allowNegative;
    }

    /// <summary>account.created entries already read (entry index → account id and flag), committed ones only.
    /// </summary>
    private readonly Dictionary<long, (string Id, bool AllowNegative)> _accountEntries = [];

    /// <summary>Transfer <paramref name="id"/> as its entry records it.</summary>
    private Transfer LoggedTransfer(ILedgerTransaction tx, string id, long entryIndex)
    {
        using var payload = LoggedPayload(tx, entryIndex, EventTypes.Transfer, id, "transfers");
        var p = payload.RootElement;
        Cells.TryAmount(p.GetProperty("amount").GetString()!, out var amount);
        return new Transfer(id, p.GetProperty("debit").GetString()!, p.GetProperty("credit").GetString()!, amount);
    }

    /// <summary>The payload of the entry a derived row points to, after checking that entry really is the row's
    /// account or transfer (a row pointing elsewhere is corruption: refuse to act on it).</summary>
    private static JsonDocument LoggedPayload(ILedgerTransaction tx, long entryIndex, string type, string id, string table)
    {
        var leaf = tx.ReadLeaf(entryIndex);
        var entry = leaf is null ? null : DecodeStored(entryIndex, leaf);
        if (entry is not null && entry.Type == type && EntryRules.PayloadProblem(type, entry.Payload) is null)
        {
            var doc = entry.ParsePayload();
            if (doc.RootElement.GetProperty("id").GetString() == id) return doc;
            doc.Dispose();
        }
        throw new LedgerError($"{table} row '{id}' points to entry {entryIndex}, which is not its {type} entry; run mledger ledger verify");
    }
}
