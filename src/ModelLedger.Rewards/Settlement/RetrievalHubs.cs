namespace ModelLedger.Rewards.Settlement;

/// <summary>
/// Retrieval hubs: documents that an epoch's RAG answers retrieved for far more distinct questions than a typical
/// document. A document written for retrieval (a keyword list naming every entity and the questions' own words)
/// matches every question; a genuine document answers the few questions about its subject. Breadth = the number of
/// distinct query ids (<see cref="Metering.AnswerSupport.QueryId"/>) whose answers retrieved the document; a hub has
/// breadth &gt; ratio × max(1, median breadth of the epoch's retrieved documents). Inferences without a query id are
/// not counted.
/// </summary>
public static class RetrievalHubs
{
    public static IReadOnlySet<string> Find(IEnumerable<MeteredInference> inferences, double ratio)
    {
        var queries = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var m in inferences)
        {
            if (m.Record.Query is not string query) continue;
            foreach (var d in m.Record.Documents)
            {
                if (!queries.TryGetValue(d.Document, out var set)) queries[d.Document] = set = new(StringComparer.Ordinal);
                set.Add(query);
            }
        }
        if (queries.Count == 0) return new HashSet<string>();
        var breadth = queries.Values.Select(q => q.Count).Order().ToArray();
        double median = breadth.Length % 2 == 1 ? breadth[breadth.Length / 2]
            : (breadth[breadth.Length / 2 - 1] + breadth[breadth.Length / 2]) / 2.0;
        double limit = ratio * Math.Max(1, median);
        return queries.Where(kv => kv.Value.Count > limit).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
    }
}
