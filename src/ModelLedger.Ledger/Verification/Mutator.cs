using System.Globalization;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger.Verification;

/// <summary>One applied (or database-refused) mutation: its kind, what it did, and whether a genuine ledger could look
/// the same (see <see cref="FaultInjection"/>).</summary>
internal sealed record Mutation(string Kind, string Description, bool Applied, bool Indistinguishable = false);

/// <summary>Random single mutations of a SQLite ledger file, as someone with write access to the database could make.</summary>
internal static class Mutator
{
    public static Mutation Apply(SqliteConnection db, Random rng)
    {
        var table = FaultInjection.AllTables[rng.Next(FaultInjection.AllTables.Count)];
        var name = StoredSchema.Name(table);
        var rows = RowIds(db, name);
        int kind = rng.Next(10);
        if (kind == 0) return Try(db, "drop table", $"DROP TABLE {name}", $"DROP TABLE {name}");
        if (rows.Count == 0) return new Mutation("empty table", $"{name} has no rows", false);
        long row = rows[rng.Next(rows.Count)];
        var columns = StoredSchema.Columns(table);
        return kind switch
        {
            1 => Try(db, "delete row", $"DELETE FROM {name} WHERE rowid = {row}", $"delete {name} row {row}",
                indistinguishable: table == StoredTable.Checkpoints),
            2 => Duplicate(db, table, row),
            3 => Swap(db, table, row, rows[rng.Next(rows.Count)]),
            _ => Edit(db, table, row, columns[rng.Next(columns.Count)], rows, rng),
        };
    }

    private static Mutation Duplicate(SqliteConnection db, StoredTable table, long row)
    {
        var name = StoredSchema.Name(table);
        var columns = StoredSchema.Columns(table);
        // the copy needs a new key: the next index for an entry, a new id or size otherwise
        var key = table switch
        {
            StoredTable.Entries => "(SELECT MAX(idx) + 1 FROM entries)",
            StoredTable.Checkpoints => "size + 1000",
            _ => "id || '~'",
        };
        bool genuineLooking = false;
        if (table == StoredTable.Entries)
        {
            var (type, client) = ((string?)Scalar(db, $"SELECT type FROM entries WHERE rowid = {row}"), Scalar(db, $"SELECT client_id FROM entries WHERE rowid = {row}"));
            genuineLooking = client is null or DBNull && type is not (EventTypes.AccountCreated or EventTypes.Transfer);
        }
        return Try(db, "duplicate row", $"INSERT INTO {name} ({string.Join(", ", columns)}) SELECT {key}, {string.Join(", ", columns.Skip(1))} FROM {name} WHERE rowid = {row}",
            $"duplicate {name} row {row} under a new key", genuineLooking);
    }

    private static Mutation Swap(SqliteConnection db, StoredTable table, long a, long b)
    {
        var name = StoredSchema.Name(table);
        var columns = StoredSchema.Columns(table).Skip(1).ToList();   // everything but the key moves
        var va = columns.Select(c => Scalar(db, $"SELECT {c} FROM {name} WHERE rowid = {a}")).ToList();
        var vb = columns.Select(c => Scalar(db, $"SELECT {c} FROM {name} WHERE rowid = {b}")).ToList();
        var description = $"swap {name} rows {a} and {b}";
        try
        {
            using var tx = db.BeginTransaction();
            // the unique client_id column passes through NULL
            if (table == StoredTable.Entries) Exec(db, tx, $"UPDATE entries SET client_id = NULL WHERE rowid = {a}", []);
            Exec(db, tx, $"UPDATE {name} SET {string.Join(", ", columns.Select((c, i) => $"{c} = @v{i}"))} WHERE rowid = {b}", va);
            Exec(db, tx, $"UPDATE {name} SET {string.Join(", ", columns.Select((c, i) => $"{c} = @v{i}"))} WHERE rowid = {a}", vb);
            tx.Commit();
            return new Mutation("swap rows", description, true);
        }
        catch (SqliteException) { return new Mutation("swap rows", description, false); }
    }

    private static Mutation Edit(SqliteConnection db, StoredTable table, long row, string column, IReadOnlyList<long> rows, Random rng)
    {
        var name = StoredSchema.Name(table);
        var current = Scalar(db, $"SELECT {column} FROM {name} WHERE rowid = {row}");
        var other = Scalar(db, $"SELECT {column} FROM {name} WHERE rowid = {rows[rng.Next(rows.Count)]}");
        var text = current as string ?? Convert.ToString(current, CultureInfo.InvariantCulture) ?? "";
        object?[] candidates =
        [
            null, 0L, 1L, -1L, long.MaxValue, 1.5, "x", "", text + " ", " " + text, text.ToUpperInvariant(), other,
            long.TryParse(text, CultureInfo.InvariantCulture, out var n) ? (n + 1).ToString(CultureInfo.InvariantCulture) : text + "0",
            current is long l ? l - 1 : 2L, new byte[] { 0x00, 0xff }, Flip(text, rng),
        ];
        var value = candidates[rng.Next(candidates.Length)];
        var shown = value switch { null => "NULL", byte[] => "a blob", string s => $"'{(s.Length > 40 ? s[..40] + "…" : s)}'", _ => Convert.ToString(value, CultureInfo.InvariantCulture) };
        try
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"UPDATE {name} SET {column} = @v WHERE rowid = {row}";
            cmd.Parameters.AddWithValue("@v", value ?? DBNull.Value);
            cmd.ExecuteNonQuery();
            return new Mutation("edit cell", $"set {name}.{column} of row {row} to {shown}", true);
        }
        catch (SqliteException) { return new Mutation("edit cell", $"set {name}.{column} of row {row} to {shown}", false); }
    }

    /// <summary>One character of <paramref name="text"/> replaced by a neighbouring one (a single-byte edit).</summary>
    private static string Flip(string text, Random rng)
    {
        if (text.Length == 0) return "?";
        int at = rng.Next(text.Length);
        return string.Concat(text.AsSpan(0, at), ((char)(text[at] ^ 1)).ToString(), text.AsSpan(at + 1));
    }

    private static Mutation Try(SqliteConnection db, string kind, string sql, string description, bool indistinguishable = false)
    {
        try
        {
            FaultInjection.Execute(db, sql);
            return new Mutation(kind, description, true, indistinguishable);
        }
        catch (SqliteException) { return new Mutation(kind, description, false); }
    }

    private static void Exec(SqliteConnection db, SqliteTransaction tx, string sql, IReadOnlyList<object?> values)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        for (int i = 0; i < values.Count; i++) cmd.Parameters.AddWithValue($"@v{i}", values[i] ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static List<long> RowIds(SqliteConnection db, string table)
    {
        var ids = new List<long>();
        try
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT rowid FROM {table} ORDER BY rowid";
            using var r = cmd.ExecuteReader();
            while (r.Read()) ids.Add(r.GetInt64(0));
        }
        catch (SqliteException) { }
        return ids;
    }
}
