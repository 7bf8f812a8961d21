using Microsoft.Data.Sqlite;

namespace ModelLedger.Ledger.Storage;

/// <summary><see cref="SqliteInsert"/> encodes bound strings into one reused UTF-8 buffer; what SQLite stores must be
/// the strings themselves, whatever their length or script, with '' staying '' and null staying NULL.</summary>
public sealed class SqliteInsertTests
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
        using (var insert = new SqliteInsert(db, "INSERT INTO t (i, s) VALUES (?, ?)"))
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
}
