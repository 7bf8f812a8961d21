using Microsoft.Data.Sqlite;

namespace ModelLedger.Ledger.Storage;

/// <summary><see cref="SqliteStatement"/> encodes bound strings into one reused UTF-8 buffer; what SQLite stores must be
/// the strings themselves, whatever their length or script, with '' staying '' and null staying NULL.</summary>
public sealed class SqliteStatementTests
{
    [Fact]
    public void BoundStrings_ReadBackUnchanged()
    {
        string[] values =
        [
            "", "plain ascii", "Größe — naïve café", "数据网 🙂 emoji beyond the BMP", new string('x', 5000),
            string.Concat(Enumerable.Repeat("é🙂", 900)), "short again",
        ];
        using var db = new SqliteConnection("Data Source=:memory:");
        db.Open();
        using (var create = db.CreateCommand())
        {
            create.CommandText = "CREATE TABLE t (i INTEGER, s TEXT)";
            create.ExecuteNonQuery();
        }
        using (var insert = new SqliteStatement(db, "INSERT INTO t (i, s) VALUES (?, ?)"))
        {
            for (int i = 0; i < values.Length; i++) insert.Bind(1, i).Bind(2, values[i]).Run();
            insert.Bind(1, values.Length).Bind(2, (string?)null).Run();
        }
        using var read = db.CreateCommand();
        read.CommandText = "SELECT i, s, typeof(s) FROM t ORDER BY i";
        using var r = read.ExecuteReader();
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(r.Read());
            Assert.Equal("text", r.GetString(2));
            Assert.Equal(values[i], r.GetString(1));
        }
        Assert.True(r.Read());
        Assert.Equal("null", r.GetString(2));
        Assert.False(r.Read());
    }

    /// <summary>Named binds (billing's lookups) and <see cref="SqliteStatement.BindValue"/> (reward rows) store every
    /// type the stores use as SQLite's own typeof() names it; the expected types are SQLite's documented storage
    /// classes for each bound C type.</summary>
    [Fact]
    public void NamedAndTypedBinds_StoreEachTypeAsItsStorageClass()
    {
        using var db = new SqliteConnection("Data Source=:memory:");
        db.Open();
        using (var create = db.CreateCommand())
        {
            create.CommandText = "CREATE TABLE t (k TEXT PRIMARY KEY, v)";
            create.ExecuteNonQuery();
        }
        (string Key, object? Value, string Type)[] cases =
        [
            ("long", 1L << 40, "integer"), ("int", 7, "integer"), ("double", 0.25, "real"), ("text", "é", "text"),
            ("blob", new byte[] { 1, 2 }, "blob"), ("null", null, "null"), ("dbnull", DBNull.Value, "null"),
        ];
        using (var insert = new SqliteStatement(db, "INSERT INTO t (k, v) VALUES (?, ?)"))
            foreach (var (key, value, _) in cases) Assert.Equal(1, insert.Bind(1, key).BindValue(2, value).RunCounted());
        using var read = new SqliteStatement(db, "SELECT v, typeof(v) FROM t WHERE k = @k");
        foreach (var (key, value, type) in cases)
        {
            var row = read.FirstRow(("k", key));
            Assert.NotNull(row);
            Assert.Equal(type, row[1]);
            Assert.Equal(value switch { int n => (long)n, DBNull => null, var v => v }, row[0]);
        }
        Assert.Null(read.FirstRow(("k", "absent")));
        Assert.Throws<ArgumentException>(() => read.FirstRow(("nope", "x")));
        using var select = new SqliteStatement(db, "SELECT ?");
        Assert.Throws<ArgumentException>(() => select.BindValue(1, 1.5f));
    }
}
