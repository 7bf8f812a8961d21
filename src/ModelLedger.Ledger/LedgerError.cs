namespace ModelLedger.Ledger;

/// <summary>A user-facing ledger failure (bad input, unknown account, failed verification): one line, no stack trace.
/// The ledger depends on nothing else of ours, so it has its own error type; the CLI prints it like a UserError.</summary>
public sealed class LedgerError(string message) : Exception(message);
