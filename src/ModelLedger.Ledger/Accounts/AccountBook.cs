namespace ModelLedger.Ledger.Accounts;

public sealed record Account(string Id, bool AllowNegative, UInt128 DebitsPosted, UInt128 CreditsPosted)
{
    /// <summary>credits − debits, signed (a mint or treasury account may be negative); its range exceeds 128 bits.</summary>
    public System.Numerics.BigInteger Balance => (System.Numerics.BigInteger)CreditsPosted - DebitsPosted;
}

public sealed record Transfer(string Id, string Debit, string Credit, UInt128 Amount);

public enum TransferStatus { Ok, Exists, ExistsWithDifferentContent, UnknownAccount, SameAccount, ZeroAmount, WouldGoNegative, Overflow }

/// <summary>
/// Double-entry rules over in-memory accounts, shared by the live ledger (state read from the store) and by
/// <c>verify</c> (state rebuilt by replay): every transfer debits one account and credits another by the same
/// amount; a normal account never goes below zero; ids are unique; no floating point anywhere.
/// </summary>
public sealed class AccountBook
{
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Transfer> _transfers = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, Account> Accounts => _accounts;
    public IReadOnlyDictionary<string, Transfer> Transfers => _transfers;

    public bool HasTransfer(string id) => _transfers.ContainsKey(id);
    public void Load(Account account) => _accounts[account.Id] = account;
    public void Load(Transfer transfer) => _transfers[transfer.Id] = transfer;

    public bool Create(string id, bool allowNegative)
    {
        if (_accounts.ContainsKey(id)) return false;
        _accounts[id] = new Account(id, allowNegative, 0, 0);
        return true;
    }

    /// <summary>Checks a transfer against the current state (no change).</summary>
    public TransferStatus Check(Transfer t)
    {
        if (_transfers.TryGetValue(t.Id, out var existing)) return existing == t ? TransferStatus.Exists : TransferStatus.ExistsWithDifferentContent;
        if (!_accounts.TryGetValue(t.Debit, out var debit) || !_accounts.TryGetValue(t.Credit, out var credit)) return TransferStatus.UnknownAccount;
        if (t.Debit == t.Credit) return TransferStatus.SameAccount;
        if (t.Amount == 0) return TransferStatus.ZeroAmount;
        if (UInt128.MaxValue - debit.DebitsPosted < t.Amount || UInt128.MaxValue - credit.CreditsPosted < t.Amount) return TransferStatus.Overflow;
        if (!debit.AllowNegative && debit.CreditsPosted < debit.DebitsPosted + t.Amount) return TransferStatus.WouldGoNegative;
        return TransferStatus.Ok;
    }

    /// <summary>One line saying why <paramref name="t"/> got <paramref name="status"/> against the current state.</summary>
    public string Describe(Transfer t, TransferStatus status) => $"transfer '{t.Id}': " + status switch
    {
        TransferStatus.Exists => "already recorded",
        TransferStatus.ExistsWithDifferentContent => "already exists with different content",
        TransferStatus.UnknownAccount => $"unknown account '{(_accounts.ContainsKey(t.Debit) ? t.Credit : t.Debit)}'",
        TransferStatus.SameAccount => "debit and credit are the same account",
        TransferStatus.ZeroAmount => "amount must be positive",
        TransferStatus.WouldGoNegative => $"account '{t.Debit}' would go negative",
        TransferStatus.Overflow => UInt128.MaxValue - _accounts[t.Debit].DebitsPosted < t.Amount
            ? $"the debits of account '{t.Debit}' would exceed 2^128-1 (debits posted {_accounts[t.Debit].DebitsPosted}, amount {t.Amount})"
            : $"the credits of account '{t.Credit}' would exceed 2^128-1 (credits posted {_accounts[t.Credit].CreditsPosted}, amount {t.Amount})",
        _ => status.ToString(),
    };

    /// <summary>Applies a transfer that <see cref="Check"/> accepted.</summary>
    public void Apply(Transfer t)
    {
        var debit = _accounts[t.Debit];
        var credit = _accounts[t.Credit];
        _accounts[t.Debit] = debit with { DebitsPosted = debit.DebitsPosted + t.Amount };
        _accounts[t.Credit] = _accounts[t.Credit] with { CreditsPosted = credit.CreditsPosted + t.Amount };
        _transfers[t.Id] = t;
    }

    /// <summary>Linked transfers: all apply, or none (the first failure is returned with its position and reason,
    /// described against the state it failed on).</summary>
    public (int FailedAt, TransferStatus Status, string? Reason) ApplyLinked(IReadOnlyList<Transfer> transfers)
    {
        var snapshot = new Dictionary<string, Account>(_accounts, StringComparer.Ordinal);
        var applied = new List<string>();
        for (int i = 0; i < transfers.Count; i++)
        {
            var status = Check(transfers[i]);
            if (status == TransferStatus.Exists) continue;
            if (status != TransferStatus.Ok)
            {
                var reason = Describe(transfers[i], status);
                foreach (var (k, v) in snapshot) _accounts[k] = v;
                foreach (var id in applied) _transfers.Remove(id);
                return (i, status, reason);
            }
            Apply(transfers[i]);
            applied.Add(transfers[i].Id);
        }
        return (-1, TransferStatus.Ok, null);
    }
}
