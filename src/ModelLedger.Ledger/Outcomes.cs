namespace ModelLedger.Ledger;

/// <summary>What became of a submitted entry, account or transfer. The ledger answers with these values; the CLI maps
/// them to exit codes and the server to HTTP statuses.</summary>
public enum AppendStatus
{
    /// <summary>Written now: a new entry at <see cref="AppendResult.Index"/>.</summary>
    Appended,
    /// <summary>The same id with the same content was already recorded: the original entry, nothing written.</summary>
    Exists,
    /// <summary>The id is taken by an entry with other content (that entry's index is given); nothing written.</summary>
    ExistsWithDifferentContent,
    /// <summary>Refused by a rule (the reason says which); nothing written.</summary>
    Rejected,
}

/// <summary>The answer to one submission. <see cref="Index"/> and <see cref="LeafHash"/> name the entry written or
/// found (-1 and "" when there is none); <see cref="Reason"/> is set whenever nothing was accepted.</summary>
public sealed record AppendResult(long Index, string LeafHash, long TreeSize, AppendStatus Status, string? Reason = null)
{
    public bool Accepted => Status is AppendStatus.Appended or AppendStatus.Exists;

    /// <summary>This result when accepted; otherwise its reason as a <see cref="LedgerError"/>.</summary>
    public AppendResult OrThrow() => Accepted ? this : throw new LedgerError(Reason ?? Status.ToString());

    internal static AppendResult Refused(string reason) => new(-1, "", -1, AppendStatus.Rejected, reason);
}

/// <summary>Thrown inside a write transaction to abandon it (nothing commits) and answer with an outcome value;
/// <paramref name="at"/> is the position of the refused item in its batch.</summary>
internal sealed class RefusedException(AppendResult result, int at = 0) : Exception(result.Reason)
{
    public AppendResult Result { get; } = result;
    public int At { get; } = at;
}
