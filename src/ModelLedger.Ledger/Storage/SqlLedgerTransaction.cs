using System.Data.Common;
using ModelLedger.Ledger.Accounts;

namespace ModelLedger.Ledger.Storage;

public sealed partial class SqlLedgerStore
{
    private sealed class Transaction(SqlLedgerStore store, DbTransaction tx) : ILedgerTransaction
    {
        private const string Insert = "INSERT INTO entries (idx, leaf, leaf_hash, type, client_id) VALUES ";

        public DbTransaction Tx => tx;

        public DbTransaction Database => tx;

        public long Count() => Cells.Int64(store.Scalar("SELECT COUNT(*) FROM entries", tx), "entry count");

        public IEnumerable<(long Index, string Leaf)> ReadEntries(long from) => store.ReadEntries(from, tx).ToList();

        public string? ReadLeaf(long index) =>
            store.Scalar("SELECT leaf FROM entries WHERE idx = @i", tx, ("i", index)) is object v and not DBNull
                ? Cells.Text(v, $"entries row {index}: leaf") : null;

        public long? IndexOfLeafHash(string leafHashHex) => store.IndexOfLeafHash(leafHashHex, tx);

        public (long Index, string Leaf)? FindClientId(string clientId) => store.FindClientId(clientId, tx);

        public void Append(long index, string leaf, string leafHashHex, string type, string? clientId) =>
            store.Execute(Insert + "(@idx, @leaf, @hash, @type, @client)", tx,
                ("idx", index), ("leaf", leaf), ("hash", leafHashHex), ("type", type), ("client", clientId));

        public void AppendMany(IReadOnlyList<StoredEntry> entries)
        {
            if (!store._postgres)
            {
                // SQLite is in-process: one prepared single-row statement, re-bound per row, is its fastest path.
                using var insert = new SqliteStatement((Microsoft.Data.Sqlite.SqliteConnection)store._connection, Insert + "(?, ?, ?, ?, ?)");
                foreach (var e in entries)
                    insert.Bind(1, e.Index).Bind(2, e.Leaf).Bind(3, e.LeafHashHex).Bind(4, e.Type).Bind(5, e.ClientId).Run();
                return;
            }
            // PostgreSQL is a round trip away: multi-row statements.
            const int rowsPerStatement = 400;   // 5 parameters a row, well under PostgreSQL's limit
            foreach (var chunk in entries.Chunk(rowsPerStatement))
            {
                var values = new List<string>();
                var parameters = new List<(string, object?)>();
                for (int i = 0; i < chunk.Length; i++)
                {
                    values.Add($"(@i{i}, @l{i}, @h{i}, @t{i}, @c{i})");
                    var e = chunk[i];
                    parameters.AddRange([($"i{i}", e.Index), ($"l{i}", e.Leaf), ($"h{i}", e.LeafHashHex), ($"t{i}", e.Type), ($"c{i}", e.ClientId)]);
                }
                store.Execute(Insert + string.Join(", ", values), tx, [.. parameters]);
            }
        }

        public StoredAccount? ReadAccount(string id) =>
            store.FirstRow(StoredTable.Accounts, "WHERE id = @id", tx, ("id", id)) is { } row ? AccountOf(row) : null;

        public void InsertAccount(Account a, long entryIndex) =>
            store.ExecutePrepared("INSERT INTO accounts (id, allow_negative, debits_posted, credits_posted, entry_idx) VALUES (@id, @neg, @d, @c, @e)", tx,
                ("id", a.Id), ("neg", a.AllowNegative ? 1 : 0), ("d", Cells.Amount(a.DebitsPosted)), ("c", Cells.Amount(a.CreditsPosted)), ("e", entryIndex));

        public void UpdateBalances(Account a) =>
            store.ExecutePrepared("UPDATE accounts SET debits_posted = @d, credits_posted = @c WHERE id = @id", tx,
                ("id", a.Id), ("d", Cells.Amount(a.DebitsPosted)), ("c", Cells.Amount(a.CreditsPosted)));

        public StoredTransfer? ReadTransfer(string id) =>
            store.FirstRow(StoredTable.Transfers, "WHERE id = @id", tx, ("id", id)) is { } row ? TransferOf(row) : null;

        public void SaveTransfer(Transfer t, long index) =>
            store.ExecutePrepared("INSERT INTO transfers (id, debit, credit, amount, entry_idx) VALUES (@id, @d, @c, @a, @idx)", tx,
                ("id", t.Id), ("d", t.Debit), ("c", t.Credit), ("a", Cells.Amount(t.Amount)), ("idx", index));
    }
}
