using System.Globalization;
using LedgerEvent = (string Type, string Actor, string Payload, string? ClientId);
using System.Text;
using ModelLedger.Ledger.Log;
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
    /// <summary>The rows to store, each with the number of its record and an empty leaf hash: everything that does
    /// not need the ledger, built while the last batch is appended.</summary>
    private sealed record Outcome(long Start, List<(int Record, ItemRow Row)> Items,
        List<(int Record, RejectionRow Row)> Rejections, List<Rejection> Rejected);

    private Outcome Prepare(IReadOnlyList<Contribution> contributions, Analysis?[] analyses, Decision[] decisions,
        Dictionary<string, string> keyIds, string[] signatures, long start, IPerplexityScorer? scorer)
    {
        var outcome = new Outcome(start, [], [], []);
        long seq = start;
        for (int i = 0; i < contributions.Count; i++)
        {
            var (c, d) = (contributions[i], decisions[i]);
            var source = $"{c.Record.Source.File}:{c.Record.Source.Record}";
            if (d.Code is not null)
            {
                outcome.Rejections.Add((i, new RejectionRow(c.Contributor, c.Record.ContentHash, d.Code, d.Reason!,
                    d.DuplicateOf, source, "")));
                outcome.Rejected.Add(new Rejection(c.Record.Source.File, c.Record.Source.Record, d.Code, d.Reason!,
                    d.DuplicateOf));
                continue;
            }
            var a = analyses[i]!;
            double? perplexity = scorer?.Perplexity(c.Record.Text) is double v && double.IsFinite(v)
                ? Math.Round(v, 4) : null;
            outcome.Items.Add((i, new ItemRow(seq++, c.Record.ContentHash, c.Contributor, keyIds[c.Contributor],
                signatures[i], c.Record.Json, a.NormHash, MinHash.ToBytes(a.Signature), a.Length, a.Words, a.Quality,
                d.Cluster!, perplexity, source, "")));
        }
        return outcome;
    }

    /// <summary>Stores the prepared rows with their entries' leaf hashes (<paramref name="leaves"/>[i] is record
    /// i's), in one transaction.</summary>
    private IntakeResult Commit(Outcome outcome, List<string> leaves)
    {
        var items = new List<ItemRow>(outcome.Items.Count);
        var ids = new List<string>(outcome.Items.Count);
        foreach (var (record, row) in outcome.Items)
        {
            items.Add(row with { LeafHash = leaves[record] });
            ids.Add(row.Item);
        }
        var rejections = new List<RejectionRow>(outcome.Rejections.Count);
        foreach (var (record, row) in outcome.Rejections) rejections.Add(row with { LeafHash = leaves[record] });
        _store.AddOutcome(_datanet.Name, outcome.Start, items, rejections);
        return new IntakeResult(ids, outcome.Rejected);
    }

    private IEnumerable<string> AppendOnce(LedgerEvent[] batch)
    {
        var digest = new IncrementalHash();
        foreach (var e in batch) digest.Add(e.Type).Add("\n").Add(e.Actor).Add("\n").Add(e.Payload).Add("\n");
        var id = $"datanet:{_datanet.Name}:intake:{digest.Hex()}";
        batch[0] = batch[0] with { ClientId = id };
        if (_ledger.Store.Write(tx => tx.FindClientId(id)) is (long index, _))
            return _ledger.Store.ReadEntries(index).Take(batch.Length)
                .Select(e => Convert.ToHexStringLower(MerkleHash.Leaf(Encoding.UTF8.GetBytes(e.Leaf)))).ToList();
        return _ledger.AppendBatch(batch).Select(r => r.LeafHash);
    }

    /// <summary>SHA-256 over a sequence of strings (UTF-8), hex. Each string is encoded into one reused buffer; the
    /// digest is the same as over the UTF-8 of their concatenation (the callers put a newline between strings, so no
    /// surrogate pair is split across two of them).</summary>
    internal sealed class IncrementalHash
    {
        private readonly System.Security.Cryptography.IncrementalHash _sha =
            System.Security.Cryptography.IncrementalHash.CreateHash(
                System.Security.Cryptography.HashAlgorithmName.SHA256);
        private byte[] _utf8 = new byte[1024];

        public IncrementalHash Add(string text)
        {
            int max = Encoding.UTF8.GetMaxByteCount(text.Length);
            if (_utf8.Length < max) _utf8 = new byte[Math.Max(max, 2 * _utf8.Length)];
            _sha.AppendData(_utf8, 0, Encoding.UTF8.GetBytes(text, _utf8));
            return this;
        }

        public string Hex() => Convert.ToHexStringLower(_sha.GetHashAndReset());
    }

    /// <summary>The ledger entry of one record. An accepted one also records what the reward rules read: the item,
    /// its near-duplicate cluster and that cluster's first item (the same id: a cluster is named by its first item),
    /// the quality score and the length; <see cref="DatanetVerifier"/> re-derives them from the stored content.</summary>
    private LedgerEvent Event(Contribution c, Decision d, Analysis a, string? keyId, string signature)
    {
        if (d.Code is null)
            return ("contribution.accepted", c.Contributor, EventPayload.Accepted(_datanet.Name, c.Contributor,
                c.Record.ContentHash, keyId, signature, d.Cluster!, a.Quality, a.Length), null);
        return ("contribution.rejected", c.Contributor, EventPayload.Rejected(_datanet.Name, c.Contributor,
            c.Record.ContentHash, keyId, signature, d.Code, d.Reason!, d.DuplicateOf), null);
    }

    internal static string Invariant(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
