using System.Globalization;
using System.Text;
using ModelLedger.Ledger.Log;
using System.Text.Json.Nodes;
using ModelLedger.Datanets.Dedup;
using ModelLedger.Datanets.Storage;

namespace ModelLedger.Datanets.Intake;

/// <summary>The write half of intake: ledger entries first, then the rows that point at them. Entries go in batches
/// of <see cref="LedgerBatch"/>, each one atomic and marked by a client id on its first entry (a hash of the whole
/// batch), so a retry after a crash between the two writes finds the batch already in the log and reuses its entries
/// instead of recording the records twice. One id per batch rather than per entry: the log's id lookup is a query
/// per id, which would cost more than the rest of intake.</summary>
public sealed partial class IntakePipeline
{
    private IntakeResult Commit(IReadOnlyList<Contribution> contributions, Analysis[] analyses, Decision[] decisions,
        Dictionary<string, string> keyIds, long start, List<(Contribution C, Analysis A)> pending,
        IPerplexityScorer? scorer)
    {
        var events = new List<(string Type, string Actor, string Payload, string? ClientId)>(contributions.Count);
        for (int i = 0; i < contributions.Count; i++)
            events.Add(Event(contributions[i], decisions[i], keyIds.GetValueOrDefault(contributions[i].Contributor)));
        var leaves = new List<string>(events.Count);
        foreach (var chunk in events.Chunk(LedgerBatch)) leaves.AddRange(AppendOnce(chunk));
        var items = new List<ItemRow>(pending.Count);
        var rejections = new List<RejectionRow>();
        var rejected = new List<Rejection>();
        long seq = start;
        for (int i = 0; i < contributions.Count; i++)
        {
            var (c, a, d) = (contributions[i], analyses[i], decisions[i]);
            var source = $"{c.Record.Source.File}:{c.Record.Source.Record}";
            if (d.Code is not null)
            {
                rejections.Add(new RejectionRow(c.Contributor, c.Record.ContentHash, d.Code, d.Reason!, d.DuplicateOf,
                    source, leaves[i]));
                rejected.Add(new Rejection(c.Record.Source.File, c.Record.Source.Record, d.Code, d.Reason!,
                    d.DuplicateOf));
                continue;
            }
            var cluster = d.ClusterSeq == seq ? c.Record.ContentHash
                : d.ClusterSeq >= start ? pending[(int)(d.ClusterSeq - start)].C.Record.ContentHash
                : _store.ItemAt(_datanet.Name, d.ClusterSeq)!.Item;
            double? perplexity = scorer?.Perplexity(c.Record.Text) is double v && double.IsFinite(v)
                ? Math.Round(v, 4) : null;
            items.Add(new ItemRow(seq++, c.Record.ContentHash, c.Contributor, keyIds[c.Contributor],
                Convert.ToHexStringLower(c.Signature), c.Record.Json, a.NormHash, MinHash.ToBytes(a.Signature),
                a.Length, a.Words, a.Quality, cluster, perplexity, source, leaves[i]));
        }
        _store.AddOutcome(_datanet.Name, start, items, rejections);
        return new IntakeResult(items.Select(x => x.Item).ToList(), rejected);
    }

    private IEnumerable<string> AppendOnce((string Type, string Actor, string Payload, string? ClientId)[] batch)
    {
        var digest = new IncrementalHash();
        foreach (var e in batch) digest.Add($"{e.Type}\n{e.Actor}\n{e.Payload}\n");
        var id = $"datanet:{_datanet.Name}:intake:{digest.Hex()}";
        batch[0] = batch[0] with { ClientId = id };
        if (_ledger.Store.Write(tx => tx.FindClientId(id)) is (long index, _))
            return _ledger.Store.ReadEntries(index).Take(batch.Length)
                .Select(e => Convert.ToHexStringLower(MerkleHash.Leaf(Encoding.UTF8.GetBytes(e.Leaf)))).ToList();
        return _ledger.AppendBatch(batch).Select(r => r.LeafHash);
    }

    /// <summary>SHA-256 over a sequence of strings (UTF-8), hex.</summary>
    private sealed class IncrementalHash
    {
        private readonly System.Security.Cryptography.IncrementalHash _sha =
            System.Security.Cryptography.IncrementalHash.CreateHash(
                System.Security.Cryptography.HashAlgorithmName.SHA256);

        public void Add(string text) => _sha.AppendData(Encoding.UTF8.GetBytes(text));

        public string Hex() => Convert.ToHexStringLower(_sha.GetHashAndReset());
    }

    private (string, string, string, string?) Event(Contribution c, Decision d, string? keyId)
    {
        var signature = Convert.ToHexStringLower(c.Signature);
        if (d.Code is null)
            return ("contribution.accepted", c.Contributor, CanonicalJson.Object(
                ("datanet", _datanet.Name), ("contributor", c.Contributor), ("content_hash", c.Record.ContentHash),
                ("key_id", keyId), ("signature", signature)), null);
        return ("contribution.rejected", c.Contributor, CanonicalJson.Object(
            ("datanet", _datanet.Name), ("contributor", c.Contributor), ("content_hash", c.Record.ContentHash),
            ("key_id", keyId), ("signature", signature), ("code", d.Code), ("reason", d.Reason),
            ("duplicate_of", d.DuplicateOf)), null);
    }

    internal static string Invariant(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
