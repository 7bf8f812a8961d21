namespace ModelLedger.Cli;

/// <summary>Named process exit codes; scripts can rely on them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A bug or an environment failure (stack trace printed).</summary>
    public const int InternalError = 1;
    /// <summary>A user mistake: bad flag, bad file, bad config (one-line message, no stack trace).</summary>
    public const int UserError = 2;
    /// <summary>mledger ledger verify found a mismatch (the first bad entry is named on stderr).</summary>
    public const int VerificationFailed = 3;
    public const int Interrupted = 130;
}
