using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Datanets.Contributors;
using ModelLedger.Datanets.Dedup;
using ModelLedger.Datanets.Intake;
using ModelLedger.Datanets.Records;
using ModelLedger.Datanets.Snapshots;
using ModelLedger.Datanets.Storage;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Events;

namespace ModelLedger.Datanets;

/// <summary>
/// Re-derives a datanet's rows from the ledger and from their own content and names every difference: contributors'
/// public keys against their <c>contributor.registered</c> entries; the datanet against <c>datanet.created</c>; the
/// items, in order, against the <c>contribution.accepted</c> entries (a missing, extra or moved item is named); each
/// item's content against its id (SHA-256), its signature against the contributor's key, and its stored signals
/// (normalised hash, MinHash signature, length, words, quality, and the near-duplicate cluster by replaying intake's
/// assignment) against their recomputation, in the row and in its <c>contribution.accepted</c> entry; every
/// snapshot's root against the ledger's items and its <c>datanet.snapshot</c> entry.
/// </summary>
public static class DatanetVerifier
{
    public static IReadOnlyList<string> Verify(LedgerWorkspace workspace, DatanetStore store, string datanet)
    {
        var net = store.RequireDatanet(datanet);
        var problems = new List<string>();
        var ledger = ReadLedger(workspace, datanet);
        var contributors = store.Contributors().ToDictionary(c => c.Name);
        foreach (var c in contributors.Values)
            if (!ledger.Contributors.TryGetValue(c.Name, out var key) || key.PublicKey != c.PublicKey
                || key.Leaf != c.LeafHash)
                problems.Add($"contributor '{c.Name}': public key or entry differs from its contributor.registered "
                    + "entry");
        if (ledger.Created != net.LeafHash) problems.Add($"datanet '{datanet}': no matching datanet.created entry");
        var items = store.Items(datanet).ToList();
        var accepted = new List<Accepted>();
        var seen = new HashSet<string>();
        foreach (var a in ledger.Accepted)
            if (seen.Add(a.ContentHash)) accepted.Add(a);
            else problems.Add($"item {a.ContentHash}: accepted twice (again by ledger entry {a.Index})");
        CheckOrder(items, accepted, problems);
        var clusters = new ClusterReplay();
        var byHash = accepted.GroupBy(a => a.ContentHash).ToDictionary(g => g.Key, g => g.First());
        foreach (var item in items)
        {
            var a = CheckItem(net, item, contributors, problems);
            // A changed item still takes its place in the replay (as text with no shingles: its own cluster), so the
            // items after it keep their sequence numbers; the change itself is already named.
            var cluster = clusters.Add(item.Item, a ?? Analysis.Of(""));
            if (a is not null) CheckSignals(item, a, cluster, byHash.GetValueOrDefault(item.Item), problems);
        }
        var acceptedHashes = accepted.Select(a => a.ContentHash).ToList();
        foreach (var s in store.Snapshots(datanet)) CheckSnapshot(s, items, acceptedHashes, ledger, problems);
        return problems;
    }

    private static void CheckOrder(List<ItemRow> items, List<Accepted> accepted, List<string> problems)
    {
        var stored = items.Select((item, i) => (item.Item, i)).ToDictionary(x => x.Item, x => x.i);
        var inLedger = accepted.Select((a, i) => (a.ContentHash, i)).ToDictionary(x => x.ContentHash, x => x.i);
        for (int i = 0; i < accepted.Count; i++)
            if (!stored.TryGetValue(accepted[i].ContentHash, out var position))
                problems.Add($"item {accepted[i].ContentHash}: accepted by ledger entry {accepted[i].Index} but "
                    + "missing from the database");
            else if (position != i)
                problems.Add($"item {accepted[i].ContentHash}: stored at position {position} but accepted at "
                    + $"position {i} (items reordered)");
        for (int i = 0; i < items.Count; i++)
        {
            if (!inLedger.ContainsKey(items[i].Item))
                problems.Add($"item {items[i].Item}: in the database (position {i}) but no contribution.accepted entry "
                    + "records it (changed or inserted)");
            if (items[i].Seq != i)
                problems.Add($"item {items[i].Item}: sequence number {items[i].Seq} at position {i}");
        }
        foreach (var (a, item) in accepted.Join(items, a => a.ContentHash, i => i.Item, (a, i) => (a, i)))
            if (a.Contributor != item.Contributor || a.Signature != item.Signature || a.Leaf != item.LeafHash)
                problems.Add($"item {item.Item}: contributor, signature or entry differs from ledger entry {a.Index}");
    }

    /// <summary>Checks an item's content, signature and stored analysis; returns the analysis re-derived from its
    /// content (null when the content is not a valid record).</summary>
    private static Analysis? CheckItem(DatanetRow net, ItemRow item, Dictionary<string, ContributorRow> contributors,
        List<string> problems)
    {
        var hash = ContentRecord.HashOf(item.Content);
        if (hash != item.Item)
        {
            problems.Add($"item {item.Item}: stored content was changed (it hashes to {hash})");
            return null;
        }
        if (!contributors.TryGetValue(item.Contributor, out var c) || c.KeyId != item.KeyId
            || !ContributorKey.Verify(ContributorKey.ImportPublic(Convert.FromHexString(c.PublicKey)), net.Name,
                item.Item, Convert.FromHexString(item.Signature)))
            problems.Add($"item {item.Item}: signature does not verify with contributor '{item.Contributor}''s key");
        ContentRecord? record;
        try
        {
            record = RecordParser.Parse(net.Format, JsonNode.Parse(item.Content), new RecordSource("db", 0, null), []);
        }
        catch (JsonException) { record = null; }
        if (record is null || record.Json != item.Content)
        {
            problems.Add($"item {item.Item}: stored content is not a canonical {net.Format.Name()} record");
            return null;
        }
        var a = Analysis.Of(record.Text);
        if (a.NormHash != item.NormHash || !MinHash.ToBytes(a.Signature).AsSpan().SequenceEqual(item.MinHash)
            || a.Words != item.Words)
            problems.Add($"item {item.Item}: stored signals (normalised hash, MinHash or words) differ from their "
                + "recomputation");
        return a;
    }

    /// <summary>The quality signals the reward rules read — cluster (= its first item), quality, length — stored in
    /// the row and carried by the <c>contribution.accepted</c> entry, against their recomputation from the content
    /// (entries written before intake recorded them carry none).</summary>
    private static void CheckSignals(ItemRow item, Analysis a, string cluster, Accepted? entry, List<string> problems)
    {
        void Differs(string where, string field, object? stored, object? derived) => problems.Add(
            $"item {item.Item}: {where} {field} {Show(stored)} differs from its recomputation {Show(derived)}");
        if (item.Cluster != cluster) Differs("stored", "cluster", item.Cluster, cluster);
        if (Math.Abs(a.Quality - item.Quality) > 1e-9) Differs("stored", "quality", item.Quality, a.Quality);
        if (a.Length != item.Length) Differs("stored", "length", item.Length, a.Length);
        if (entry?.Signals is not { } p) return;
        var where = $"ledger entry {entry.Index}'s";
        foreach (var (field, derived) in new (string, string)[] { ("item", item.Item), ("cluster", cluster),
            ("first_item", cluster) })
            if (p.TryGetProperty(field, out var v) && v.ToString() != derived) Differs(where, field, v.ToString(), derived);
        if (p.TryGetProperty("quality", out var q) && !(q.TryGetDouble(out var qv) && Math.Abs(qv - a.Quality) <= 1e-9))
            Differs(where, "quality", q.GetRawText(), a.Quality);
        if (p.TryGetProperty("length", out var l) && !(l.TryGetInt32(out var lv) && lv == a.Length))
            Differs(where, "length", l.GetRawText(), a.Length);
    }

    private static string Show(object? value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        null => "none",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };

    private static void CheckSnapshot(SnapshotRow s, List<ItemRow> items, List<string> accepted, LedgerView ledger,
        List<string> problems)
    {
        if (!ledger.Snapshots.TryGetValue(s.LeafHash, out var entry) || entry.Root != s.Root || entry.Items != s.Items)
            problems.Add($"snapshot {s.Root}: no matching datanet.snapshot ledger entry {s.LeafHash}");
        if (accepted.Count < s.Items || SnapshotRoot.Of(accepted.Take((int)s.Items)) != s.Root)
            problems.Add($"snapshot {s.Root}: the ledger's first {s.Items} accepted items do not give this root");
        if (items.Count < s.Items)
        {
            problems.Add($"snapshot {s.Root}: has {s.Items} items but the database holds {items.Count} "
                + "(items removed)");
            return;
        }
        var root = SnapshotRoot.Of(items.Take((int)s.Items).Select(i => ContentRecord.HashOf(i.Content)));
        if (root != s.Root)
            problems.Add($"snapshot {s.Root}: the stored items now give root {root} "
                + "(items reordered, removed or changed)");
    }

    /// <summary>A contribution.accepted entry; <see cref="Signals"/> holds its payload's quality signals (item,
    /// cluster, first_item, quality, length) when it carries any.</summary>
    private sealed record Accepted(long Index, string ContentHash, string Contributor, string Signature, string Leaf,
        JsonElement? Signals);

    private sealed record LedgerView(Dictionary<string, (string PublicKey, string Leaf)> Contributors, string? Created,
        List<Accepted> Accepted, Dictionary<string, (string Root, long Items)> Snapshots);

    /// <summary>One pass over the log: the entries this datanet's rows derive from.</summary>
    private static LedgerView ReadLedger(LedgerWorkspace workspace, string datanet)
    {
        var view = new LedgerView([], null, [], []);
        string? created = null;
        foreach (var (index, leaf) in workspace.Store.ReadEntries(0))
        {
            var bytes = Encoding.UTF8.GetBytes(leaf);
            var entry = LedgerEntry.FromLeaf(bytes);
            if (entry.Type is not ("contributor.registered" or "datanet.created" or "contribution.accepted"
                or "datanet.snapshot")) continue;
            using var doc = entry.ParsePayload();
            var p = doc.RootElement;
            string Get(string name) => p.TryGetProperty(name, out var v) ? v.ToString() : "";
            var leafHash = Convert.ToHexStringLower(ModelLedger.Ledger.Log.MerkleHash.Leaf(bytes));
            if (entry.Type == "contributor.registered")
                view.Contributors[Get("contributor")] = (Get("public_key"), leafHash);
            else if (Get("datanet") != datanet) continue;
            else if (entry.Type == "datanet.created") created = leafHash;
            else if (entry.Type == "contribution.accepted")
                view.Accepted.Add(new Accepted(index, Get("content_hash"), Get("contributor"), Get("signature"),
                    leafHash, p.TryGetProperty("cluster", out _) || p.TryGetProperty("quality", out _) ? p.Clone() : null));
            else view.Snapshots[leafHash] = (Get("root"), long.Parse(Get("items"), CultureInfo.InvariantCulture));
        }
        return view with { Created = created };
    }
}
