using System.Diagnostics;
using ModelLedger.Attribution.Rag;
using ModelLedger.Engine.Models;

namespace ModelLedger.Bench;

/// <summary>One attribution method over the question set: how often removing the top-attributed retrieved document
/// lowered log p(answer) more than removing a random other retrieved one (strictly), how often the top-attributed
/// document was the one holding the asked fact, the same for BM25's first hit, and the cost per question.</summary>
public sealed record RagBenchRow(string Method, int K, int Questions, double TopBeatsRandom, double TopIsGold, double Bm25TopIsGold,
    double MeanTopDropNats, double MeanRandomDropNats, double MsPerQuestion)
{
    /// <summary>Prompts scored to attribute one answer (full context included; the check's own k + 1 not).</summary>
    public double PromptsPerQuestion { get; init; }
}

/// <summary>
/// The RAG counterfactual check on a synthetic documents set: 40 one-fact documents ("Lily has a red ball. …", one
/// per name and thing, owned by 20 contributors) and questions about one fact each ("What color is Lily's ball?"),
/// so BM25 retrieves the fact's document among others sharing its name or thing. For each question the answer is
/// generated, attributed, and then every retrieved document is removed in turn and the loss measured afresh. With
/// exact leave-one-out the top document beats a random one by construction (the row checks the plumbing); the
/// surrogate rows (k above 8) are the real test. Seeded.
/// </summary>
internal static class RagValidation
{
    private static readonly string[] Names = ["Lily", "Tom", "Ben", "Sue", "Max", "Amy", "Sam", "Mia", "Tim", "Ann"];
    private static readonly string[] Things = ["ball", "hat", "kite", "car", "box", "bag", "cup", "bed"];
    private static readonly string[] Colors = ["red", "blue", "green", "yellow", "pink", "brown", "black", "white"];

    public static IReadOnlyList<RagBenchRow> Run(PretrainedModel model, int questions, IReadOnlyList<(int K, int Ablations, SurrogateDesign Design)> settings,
        Action<string> log)
    {
        var (documents, facts) = Synthetic(seed: 7);
        var ask = new RagAsk(model, documents);
        var rows = new List<RagBenchRow>();
        foreach (var (k, ablations, design) in settings)
        {
            var rng = new Random(k * 1000 + ablations);
            int wins = 0, gold = 0, bm25Gold = 0;
            double topDrop = 0, randomDrop = 0;
            string method = "";
            double prompts = 0;
            var watch = Stopwatch.StartNew();
            foreach (var (question, goldRow) in facts.Take(questions))
            {
                var request = new RagRequest(question, k, MaxNewTokens: 16, Ablations: ablations, Seed: rng.Next(), Design: design);
                var result = ask.Ask(request);
                (method, prompts) = (result.Method, prompts + result.Ablations + 1);
                var drops = ask.LeaveOneOutDrops(request, result);
                int top = Enumerable.Range(0, drops.Length).MaxBy(i => result.Documents[i].Effect);
                int other = Enumerable.Range(0, drops.Length).Where(i => i != top).ElementAtOrDefault(rng.Next(Math.Max(1, drops.Length - 1)));
                if (drops.Length > 1 && drops[top] > drops[other]) wins++;
                if (result.Documents[top].Row == goldRow) gold++;
                if (result.Documents[0].Row == goldRow) bm25Gold++;
                topDrop += drops[top];
                randomDrop += drops.Length > 1 ? drops[other] : 0;
            }
            int n = Math.Min(questions, facts.Count);
            rows.Add(new RagBenchRow(k <= ContextAblation.ExactLimit ? "leave-one-out" : $"{method} ({ablations} ablations)", k, n,
                (double)wins / n, (double)gold / n, (double)bm25Gold / n, topDrop / n, randomDrop / n, watch.Elapsed.TotalMilliseconds / n)
                { PromptsPerQuestion = prompts / n });
            log($"k={k}: top beats random {wins}/{n}, top is gold {gold}/{n}, BM25 first is gold {bm25Gold}/{n}");
        }
        return rows;
    }

    /// <summary>One document per (name, thing) pair drawn without repetition, a colour each; questions in a shuffled
    /// order, each with the row of its document.</summary>
    internal static (DocumentSet Documents, List<(string Question, int GoldRow)> Facts) Synthetic(int seed)
    {
        var rng = new Random(seed);
        var pairs = Names.SelectMany(n => Things.Select(t => (Name: n, Thing: t))).OrderBy(_ => rng.Next()).Take(40).ToArray();
        var documents = pairs.Select((p, i) =>
        {
            var color = Colors[rng.Next(Colors.Length)];
            return new RagDocument(i, $"doc-{i:D2}", $"contributor-{i % 20:D2}", $"{p.Name}'s {p.Thing}",
                $"{p.Name} has a {color} {p.Thing}. {p.Name} likes the {color} {p.Thing} very much.");
        }).ToArray();
        var facts = pairs.Select((p, i) => ($"What color is {p.Name}'s {p.Thing}?", i)).OrderBy(_ => rng.Next()).ToList();
        return (new DocumentSet(documents, "synthetic", null), facts);
    }
}
