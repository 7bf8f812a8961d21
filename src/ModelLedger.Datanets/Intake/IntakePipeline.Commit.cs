using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Datanets.Dedup;
using ModelLedger.Datanets.Storage;

namespace ModelLedger.Datanets.Intake;

/// <summary>The write half of intake: ledger entries first (durable, idempotent for accepted records by client id),
/// then the rows that point at them.</summary>
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
        foreach (var chunk in events.Chunk(LedgerBatch))
            leaves.AddRange(_ledger.AppendBatch(chunk).Select(r => r.LeafHash));
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
            double? perplexity = scorer?.Perplexity(c.Record.Text) is double v && double.IsFinite(v) ? Math.Round(v, 4) : null;
            items.Add(new ItemRow(seq++, c.Record.ContentHash, c.Contributor, keyIds[c.Contributor],
                Convert.ToHexStringLower(c.Signature), c.Record.Json, a.NormHash, MinHash.ToBytes(a.Signature), a.Length,
                a.Words, a.Quality, cluster, perplexity, source, leaves[i]));
        }
        _store.AddOutcome(_datanet.Name, start, items, rejections);
        return new IntakeResult(items.Select(x => x.Item).ToList(), rejected);
    }

    private (string, string, string, string?) Event(Contribution c, Decision d, string? keyId)
    {
        var signature = Convert.ToHexStringLower(c.Signature);
        if (d.Code is null)
            return ("contribution.accepted", c.Contributor, CanonicalJson.Object(
                ("datanet", _datanet.Name), ("contributor", c.Contributor), ("content_hash", c.Record.ContentHash),
                ("key_id", keyId), ("signature", signature)),
                $"datanet:{_datanet.Name}:item:{c.Record.ContentHash}");
        return ("contribution.rejected", c.Contributor, CanonicalJson.Object(
            ("datanet", _datanet.Name), ("contributor", c.Contributor), ("content_hash", c.Record.ContentHash),
            ("key_id", keyId), ("signature", signature), ("code", d.Code), ("reason", d.Reason),
            ("duplicate_of", d.DuplicateOf)), null);
    }

    internal static string Invariant(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
