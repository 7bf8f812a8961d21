using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Settlement;

/// <summary>
/// Retrieval hubs: documents that an epoch's RAG answers retrieved for far more distinct questions than a typical
/// document. A document written for retrieval (a keyword list naming every entity and the questions' own words)
/// matches every question; a genuine document answers the few questions about its subject. Breadth = the number of
/// distinct query ids (<see cref="Metering.AnswerSupport.QueryId"/>) whose answers retrieved the document; a hub has
/// breadth &gt; ratio × max(1, baseline). The baseline is the median breadth of the epoch's retrieved documents, or
/// (<see cref="HubBaseline.Owners"/>) the median over their owners of each owner's median document: when stuffed
/// documents are most of what is retrieved, the per-document median is itself a stuffer's and nothing stands out,
/// while counting each owner once keeps one owner's flood from defining "typical". Inferences without a query id are
/// not counted.
/// </summary>
public static class RetrievalHubs
{
    public static IReadOnlySet<string> Find(IEnumerable<MeteredInference> inferences, double ratio,
        HubBaseline baseline = HubBaseline.Documents)
    {
        var queries = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var m in inferences)
        {
            if (m.Record.Query is not string query) continue;
            foreach (var d in m.Record.Documents)
            {
                if (!queries.TryGetValue(d.Document, out var set))
                    queries[d.Document] = set = new(StringComparer.Ordinal);
                set.Add(query);
                owners.TryAdd(d.Document, d.Owner);
            }
        }
        if (queries.Count == 0) return new HashSet<string>();
        double typical = baseline == HubBaseline.Owners
            ? Median(queries.GroupBy(kv => owners[kv.Key], StringComparer.Ordinal)
                .Select(g => Median(g.Select(kv => (double)kv.Value.Count))))
            : Median(queries.Values.Select(q => (double)q.Count));
        double limit = ratio * Math.Max(1, typical);
        return queries.Where(kv => kv.Value.Count > limit).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2.0;
    }
}
