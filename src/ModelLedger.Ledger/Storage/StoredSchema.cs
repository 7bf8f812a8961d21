namespace ModelLedger.Ledger.Storage;

/// <summary>The tables a ledger store keeps. Only <see cref="Entries"/>' leaf column is the log itself; every other
/// column and table is derived from it, and <c>verify</c> re-derives and compares all of them.</summary>
public enum StoredTable { Entries, Accounts, Transfers, Checkpoints }

/// <summary>Table names, column lists and the DDL, in one place for both backends and for verify's raw reads.</summary>
public static class StoredSchema
{
    public static string Name(StoredTable table) => table switch
    {
        StoredTable.Entries => "entries",
        StoredTable.Accounts => "accounts",
        StoredTable.Transfers => "transfers",
        _ => "checkpoints",
    };

    /// <summary>The columns in the order raw reads return them; the first is the row's key.</summary>
    public static IReadOnlyList<string> Columns(StoredTable table) => table switch
    {
        StoredTable.Entries => ["idx", "leaf", "leaf_hash", "type", "client_id"],
        StoredTable.Accounts => ["id", "allow_negative", "debits_posted", "credits_posted", "entry_idx"],
        StoredTable.Transfers => ["id", "debit", "credit", "amount", "entry_idx"],
        _ => ["size", "note"],
    };

    internal const string Create = """
        CREATE TABLE IF NOT EXISTS entries (idx BIGINT PRIMARY KEY, leaf TEXT NOT NULL, leaf_hash TEXT NOT NULL,
            type TEXT NOT NULL, client_id TEXT UNIQUE);
        CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, allow_negative INTEGER NOT NULL,
            debits_posted TEXT NOT NULL, credits_posted TEXT NOT NULL, entry_idx BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS transfers (id TEXT PRIMARY KEY, debit TEXT NOT NULL, credit TEXT NOT NULL,
            amount TEXT NOT NULL, entry_idx BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS entries_leaf_hash ON entries (leaf_hash);
        """;
}
