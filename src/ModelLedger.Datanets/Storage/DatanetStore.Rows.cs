using System.Data.Common;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Datanets.Storage;

/// <summary>Reads and writes of contributors, datanets, items, rejections and snapshots.</summary>
public sealed partial class DatanetStore
{
    private const string ItemColumns = "seq, item, contributor, key_id, signature, content, norm_hash, minhash, length, "
        + "words, quality, cluster, perplexity, source, leaf_hash";

    public void AddContributor(ContributorRow c) => Write(tx =>
    {
        Execute("INSERT INTO datanet_contributors (name, public_key, key_id, leaf_hash, created) "
            + "VALUES (@n, @p, @k, @l, @c)", tx, ("n", c.Name), ("p", c.PublicKey), ("k", c.KeyId), ("l", c.LeafHash),
            ("c", c.Created));
        return 0;
    });

    public IReadOnlyList<ContributorRow> Contributors() => Query(
        "SELECT name, public_key, key_id, leaf_hash, created FROM datanet_contributors ORDER BY name",
        r => new ContributorRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4)));

    public ContributorRow? Contributor(string name) => Contributors().FirstOrDefault(c => c.Name == name);

    public void AddDatanet(DatanetRow d) => Write(tx =>
    {
        Execute("INSERT INTO datanet_datanets (name, format, license, description, quota, near_dup_threshold, "
            + "leaf_hash, created) VALUES (@n, @f, @l, @d, @q, @t, @h, @c)", tx, ("n", d.Name), ("f", d.Format.Name()),
            ("l", d.License), ("d", d.Description), ("q", d.Quota), ("t", d.NearDupThreshold), ("h", d.LeafHash),
            ("c", d.Created));
        return 0;
    });

    public IReadOnlyList<DatanetRow> Datanets() => Query(
        "SELECT name, format, license, description, quota, near_dup_threshold, leaf_hash, created FROM datanet_datanets "
        + "ORDER BY name", r => new DatanetRow(r.GetString(0), DatanetFormats.Parse(r.GetString(1)),
            NullableString(r, 2), NullableString(r, 3), r.IsDBNull(4) ? null : Long(r, 4), Double(r, 5),
            r.GetString(6), r.GetString(7)));

    public DatanetRow? Datanet(string name) => Datanets().FirstOrDefault(d => d.Name == name);

    public DatanetRow RequireDatanet(string name) => Datanet(name)
        ?? throw new UserError($"no datanet named '{name}'", hint: $"create it: mledger datanet create {name} --format …");

    /// <summary>Items in acceptance order (streamed; the caller enumerates once).</summary>
    public IEnumerable<ItemRow> Items(string datanet, long limit = long.MaxValue)
    {
        using var cmd = Command($"SELECT {ItemColumns} FROM datanet_items WHERE datanet = @d AND seq < @n ORDER BY seq",
            null, ("d", datanet), ("n", limit));
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) yield return ReadItem(reader);
    }

    public ItemRow? ItemAt(string datanet, long seq) => Query(
        $"SELECT {ItemColumns} FROM datanet_items WHERE datanet = @d AND seq = @s", ReadItem, ("d", datanet), ("s", seq))
        .FirstOrDefault();

    private static ItemRow ReadItem(DbDataReader r) => new(Long(r, 0), r.GetString(1), r.GetString(2), r.GetString(3),
        r.GetString(4), r.GetString(5), r.GetString(6), (byte[])r.GetValue(7), (int)Long(r, 8), (int)Long(r, 9),
        Double(r, 10), r.GetString(11), r.IsDBNull(12) ? null : Double(r, 12), r.GetString(13), r.GetString(14));

    /// <summary>What the duplicate index is rebuilt from: per item in order, its normalised hash, signature, the
    /// sequence number of its cluster's first item, and its content when asked (null otherwise).</summary>
    public IEnumerable<(string NormHash, byte[] MinHash, long ClusterSeq, string? Content)> IndexRows(string datanet,
        bool withContent)
    {
        using var cmd = Command($"SELECT i.norm_hash, i.minhash, c.seq{(withContent ? ", i.content" : "")} FROM "
            + "datanet_items i JOIN datanet_items c ON c.datanet = i.datanet AND c.item = i.cluster "
            + "WHERE i.datanet = @d ORDER BY i.seq", null, ("d", datanet));
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
            yield return (reader.GetString(0), (byte[])reader.GetValue(1), Long(reader, 2),
                withContent ? reader.GetString(3) : null);
    }

    public long ItemCount(string datanet) => Query("SELECT COUNT(*) FROM datanet_items WHERE datanet = @d",
        r => Long(r, 0), ("d", datanet))[0];

    public IReadOnlyDictionary<string, long> ItemsPerContributor(string datanet) => Query(
        "SELECT contributor, COUNT(*) FROM datanet_items WHERE datanet = @d GROUP BY contributor ORDER BY contributor",
        r => (r.GetString(0), Long(r, 1)), ("d", datanet)).ToDictionary(x => x.Item1, x => x.Item2);

    public IReadOnlyList<(string Contributor, string Code, long Count)> RejectionCounts(string datanet) => Query(
        "SELECT contributor, code, COUNT(*) FROM datanet_rejections WHERE datanet = @d GROUP BY contributor, code "
        + "ORDER BY contributor, code", r => (r.GetString(0), r.GetString(1), Long(r, 2)), ("d", datanet));

    /// <summary>Stores one intake's outcome in one transaction; refuses if another intake added items meanwhile (the
    /// duplicate check would have been against a stale index).</summary>
    public void AddOutcome(string datanet, long expectedStart, IReadOnlyList<ItemRow> items,
        IReadOnlyList<RejectionRow> rejections) => Write(tx =>
    {
        using (var count = Command("SELECT COUNT(*) FROM datanet_items WHERE datanet = @d", tx, ("d", datanet)))
            if (Convert.ToInt64(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != expectedStart)
                throw new UserError($"another intake added items to '{datanet}' while this one ran",
                    hint: "run the same 'datanet add' again: its ledger entries are kept and it is checked afresh");
        InsertItems(datanet, items, tx);
        foreach (var r in rejections)
            Execute("INSERT INTO datanet_rejections (datanet, contributor, content_hash, code, reason, duplicate_of, "
                + "source, leaf_hash) VALUES (@d, @c, @h, @code, @r, @dup, @s, @l)", tx, ("d", datanet),
                ("c", r.Contributor), ("h", r.ContentHash), ("code", r.Code), ("r", r.Reason), ("dup", r.DuplicateOf),
                ("s", r.Source), ("l", r.LeafHash));
        return 0;
    });

    private void InsertItems(string datanet, IReadOnlyList<ItemRow> items, DbTransaction tx)
    {
        var sql = $"INSERT INTO datanet_items (datanet, {ItemColumns}) VALUES (@d, @seq, @item, @c, @k, @sig, @content, "
            + "@norm, @mh, @len, @words, @q, @cluster, @ppl, @src, @leaf)";
        if (!_postgres)
        {
            // SQLite's own statement bound by position (parameters number in order of appearance): an intake stores
            // up to a million rows, and re-binding by name per row costs more than the insert.
            using var insert = new SqliteStatement((SqliteConnection)_connection, sql);
            foreach (var i in items)
                insert.Bind(1, datanet).Bind(2, i.Seq).Bind(3, i.Item).Bind(4, i.Contributor).Bind(5, i.KeyId)
                    .Bind(6, i.Signature).Bind(7, i.Content).Bind(8, i.NormHash).Bind(9, i.MinHash).Bind(10, i.Length)
                    .Bind(11, i.Words).Bind(12, i.Quality).Bind(13, i.Cluster).Bind(14, i.Perplexity).Bind(15, i.Source)
                    .Bind(16, i.LeafHash).Run();
            return;
        }
        using var cmd = Command(sql, tx, ("d", datanet), ("seq", 0L), ("item", ""), ("c", ""), ("k", ""), ("sig", ""),
            ("content", ""), ("norm", ""), ("mh", Array.Empty<byte>()), ("len", 0L), ("words", 0L), ("q", 0.0),
            ("cluster", ""), ("ppl", null), ("src", ""), ("leaf", ""));
        foreach (var i in items)
        {
            object?[] values = [i.Seq, i.Item, i.Contributor, i.KeyId, i.Signature, i.Content, i.NormHash, i.MinHash,
                (long)i.Length, (long)i.Words, i.Quality, i.Cluster, i.Perplexity, i.Source, i.LeafHash];
            for (int p = 0; p < values.Length; p++) cmd.Parameters[p + 1].Value = values[p] ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }
    }

    public void AddSnapshot(SnapshotRow s) => Write(tx =>
    {
        Execute("INSERT INTO datanet_snapshots (datanet, root, items, leaf_hash, created) VALUES (@d, @r, @n, @l, @c)",
            tx, ("d", s.Datanet), ("r", s.Root), ("n", s.Items), ("l", s.LeafHash), ("c", s.Created));
        return 0;
    });

    /// <summary>Snapshots of one datanet, or the ones with a given root, or all.</summary>
    public IReadOnlyList<SnapshotRow> Snapshots(string? datanet = null, string? root = null)
    {
        var where = datanet is not null ? "WHERE datanet = @k" : root is not null ? "WHERE root = @k" : "";
        return Query($"SELECT datanet, root, items, leaf_hash, created FROM datanet_snapshots {where} "
            + "ORDER BY datanet, items",
            r => new SnapshotRow(r.GetString(0), r.GetString(1), Long(r, 2), r.GetString(3), r.GetString(4)),
            ("k", datanet ?? root ?? ""));
    }
}
