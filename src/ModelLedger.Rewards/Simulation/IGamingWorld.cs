using ModelLedger.Ledger;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Simulation;

/// <summary>
/// The parts of the gaming simulation that can be simulated or real: intake (which contributions are accepted, and
/// the <c>contribution.accepted</c> events that say so) and retrieval with ablation (which documents a RAG answer
/// drew on, and their effects). <see cref="SimulatedWorld"/> draws both from the population model; the benchmark's
/// world (ModelLedger.Bench) runs the datanets intake and RAG attribution on a tiny model.
/// </summary>
public interface IGamingWorld
{
    /// <summary>One line saying which parts are real, for the report.</summary>
    string Description { get; }

    /// <summary>Takes every item of the population in, appending its <c>contribution.accepted</c> events to the
    /// workspace's ledger; returns the accepted items with their ids as the ledger records them.</summary>
    IReadOnlyList<SimItem> Intake(LedgerWorkspace workspace, Population population);

    /// <summary>One RAG answer about <paramref name="topic"/> (a question about <paramref name="favoured"/>'s data
    /// when a self-dealing agent asks): the retrieved documents with owners, shares, effects and support, and the
    /// question's id; null when there is nothing to ask about.</summary>
    RagAnswer? Retrieve(IReadOnlyList<SimItem> accepted, int topic, string? favoured, Random rng);
}

/// <summary>What a RAG answer drew on, as metering records it.</summary>
public sealed record RagAnswer(IReadOnlyList<DocumentShare> Documents, string Query);

/// <summary>
/// Intake and retrieval drawn from the population model (docs/rewards.md, "What is simulated"). Intake follows the
/// datanets' refusals: an item whose near-duplicate cluster already holds an accepted item (the exact copies of
/// duplicate flooders and copycats, and the paraphrases the population drew as caught) is refused as a near
/// duplicate, one below the intake's quality threshold (0.5) as low quality; each refusal is a signed
/// <c>contribution.rejected</c> entry, as the real intake writes it, so the <c>refused</c> rule sees the same record.
/// Everything else is accepted with the cluster and quality the population drew. 3 documents are retrieved by a
/// noisy relevance score (stuffed documents score high on every topic) with the document's drawn effect when on
/// topic.
/// </summary>
public sealed class SimulatedWorld : IGamingWorld
{
    /// <summary>The datanets intake's quality threshold (docs/datanets.md).</summary>
    private const double IntakeQuality = 0.5;

    public string Description => "simulated population, intake, retrieval, ablation and training attribution";

    public IReadOnlyList<SimItem> Intake(LedgerWorkspace workspace, Population population)
    {
        var accepted = new List<SimItem>();
        var clusters = new HashSet<string>(StringComparer.Ordinal);
        var events = new List<(string, string, string, string?)>();
        foreach (var i in population.Items)
        {
            string? refusal = clusters.Contains(i.Cluster) ? "near-duplicate"
                : i.Quality < IntakeQuality ? "low-quality" : null;
            if (refusal is null)
            {
                clusters.Add(i.Cluster);
                accepted.Add(i);
            }
            events.Add(refusal is null ? (RewardEvents.ContributionAccepted, i.Owner, ContributionPayload(i), null)
                : (RewardEvents.ContributionRejected, i.Owner, RefusalPayload(i, refusal), null));
        }
        workspace.Service.AppendBatch(events);
        return accepted;
    }

    private static string RefusalPayload(SimItem i, string code) => RewardEvents.Json(w =>
    {
        w.WriteString("datanet", i.IsDocument ? "docs" : "ads");
        w.WriteString("contributor", i.Owner);
        w.WriteString("content_hash", i.Id);
        w.WriteString("code", code);
        w.WriteString("reason", "simulated intake");
    });

    private static string ContributionPayload(SimItem i) => RewardEvents.Json(w =>
    {
        w.WriteString("datanet", i.IsDocument ? "docs" : "ads");
        w.WriteString("contributor", i.Owner);
        w.WriteString("content_hash", i.Id);
        w.WriteString("item", i.Id);
        w.WriteString("cluster", i.Cluster);
        w.WriteNumber("quality", Math.Round(i.Quality, 4));
    });

    public RagAnswer? Retrieve(IReadOnlyList<SimItem> accepted, int topic, string? favoured, Random rng)
    {
        // The question is about one genuine document of the topic (its id names the question); retrieval scores
        // depend on the topic only, and no answer text exists here, so support is not measured.
        var askable = accepted.Where(i => i.IsDocument && i.Value > 0 && i.Topic == topic).ToList();
        if (askable.Count == 0) return null;
        var question = askable[rng.Next(askable.Count)];
        double Noise() => Math.Exp(0.3 * Population.Gaussian(rng));
        var retrieved = accepted.Where(i => i.IsDocument)
            .Select(i => (Item: i,
                Score: (i.Stuffed ? 1.5 : i.Topic == topic ? 1 : 0.05) * Noise() * (i.Owner == favoured ? 50 : 1)))
            .OrderByDescending(x => x.Score).Take(3).ToList();
        double total = retrieved.Sum(x => x.Score);
        return new RagAnswer(retrieved.Select(x => new DocumentShare(x.Item.Id, x.Item.Owner, x.Score / total,
            x.Item.Topic == topic || x.Item.Stuffed ? x.Item.Effect : 0.005)).ToList(),
            AnswerSupport.QueryId($"question about {question.Id}"));
    }
}
