using System.Globalization;
using System.Text.Json;
using ModelLedger.Bench.Gaming;
using ModelLedger.Datanets;
using ModelLedger.Evaluation.SampleData;
using ModelLedger.Ledger;
using ModelLedger.Rewards.Simulation;

namespace ModelLedger.Bench;

/// <summary>
/// How well intake's near-duplicate rules separate paraphrases from honest templated records, decided by the real
/// intake: recall on the gaming simulation's paraphrasers (<see cref="GamingTexts"/>: sentences reordered, synonyms
/// swapped with a per-item probability of 0.15–0.6) over several populations, each paraphrase submitted after the
/// honest records it copies; and false positives on honest data: the same populations' honest records (templated ads
/// and fact stories that share stock sentences) and <c>mledger data adgen</c>'s attribute-to-copy records, as an
/// alpaca datanet (attributes → copy) and as a text datanet (the copy alone). A refusal is counted per rule: the
/// word-and-pair Jaccard rule ("Jaccard") or the paraphrase rule ("same prompt"); exact duplicates are counted apart
/// (a true duplicate is not a false positive).
/// </summary>
public static class IntakeDedupQuality
{
    /// <summary>One data set's outcome: records sent, exact duplicates refused, refusals by the Jaccard rule and by
    /// the paraphrase rule, and other refusals (quality, quota).</summary>
    public sealed record Row(string Data, string Kind, int Records, int Exact, int Jaccard, int Paraphrase, int Other)
    {
        public double NearRate => (double)(Jaccard + Paraphrase) / Math.Max(1, Records);
        public double CaughtRate => (double)(Exact + Jaccard + Paraphrase) / Math.Max(1, Records);
    }

    public static IReadOnlyList<Row> Run(string workDir, int populations, int adgenRecords, Action<string> log)
    {
        var rows = new List<Row>();
        var honest = new Counts();
        var paraphrase = new Counts();
        for (int seed = 0; seed < populations; seed++)
        {
            log($"intake quality: gaming population {seed + 1}/{populations} ...");
            Population(Path.Combine(workDir, $"pop{seed}"), seed, honest, paraphrase);
        }
        rows.Add(honest.Row("gaming honest records (ads + stories)", "false positive"));
        rows.Add(paraphrase.Row("gaming paraphrases (reordered + synonyms)", "recall"));
        log($"intake quality: adgen, {adgenRecords:N0} records ...");
        var adgen = Path.Combine(workDir, "adgen");
        AdgenGenerator.Write(adgen, adgenRecords, 0, seed: 0);
        var examples = JsonDocument.Parse(File.ReadAllText(Path.Combine(adgen, "adgen_train.json"))).RootElement
            .EnumerateArray().Select(e => (Content: e.GetProperty("content").GetString()!,
                Summary: e.GetProperty("summary").GetString()!)).ToList();
        rows.Add(Adgen(workDir, DatanetFormat.Alpaca, examples.Select(e =>
            JsonSerializer.Serialize(new { instruction = e.Content, output = e.Summary }))));
        rows.Add(Adgen(workDir, DatanetFormat.Text, examples.Select(e => JsonSerializer.Serialize(new { text = e.Summary }))));
        return rows;
    }

    public static string Markdown(IReadOnlyList<Row> rows) => string.Join('\n', new[]
    {
        "| data | records | exact duplicates | near-dup (Jaccard) | near-dup (same prompt) | other refusals | measure |",
        "|---|---:|---:|---:|---:|---:|---|",
    }.Concat(rows.Select(r => string.Create(CultureInfo.InvariantCulture,
        $"| {r.Data} | {r.Records:N0} | {r.Exact} | {r.Jaccard} | {r.Paraphrase} | {r.Other} | {r.Kind} "
        + $"{(r.Kind == "recall" ? r.CaughtRate : r.NearRate):P1} |"))));

    private static void Population(string dir, int seed, Counts honest, Counts paraphrase)
    {
        var population = Rewards.Simulation.Population.Generate(new Random(seed));
        var texts = new GamingTexts(population, new Random(population.Items.Count));
        using var ws = LedgerWorkspace.Init(Path.Combine(dir, "ws"), "bench.example/ledger", null);
        using var service = new DatanetService(ws);
        service.CreateDatanet("ads", DatanetFormat.Alpaca, null, null, null);
        service.CreateDatanet("docs", DatanetFormat.Documents, null, null, null);
        var identities = population.Identities.Where(i => i.Class is ActorClass.Honest or ActorClass.Paraphraser)
            .OrderBy(i => i.Class == ActorClass.Honest ? 0 : 1);
        foreach (var identity in identities)
        {
            service.CreateContributor(identity.Name);
            foreach (var document in new[] { false, true })
            {
                var items = population.Items.Where(i => i.Owner == identity.Name && i.IsDocument == document).ToList();
                if (items.Count == 0) continue;
                var file = Path.Combine(dir, $"{identity.Name}-{(document ? "docs" : "ads")}.jsonl");
                File.WriteAllLines(file, items.Select(i => texts[i.Id].Json));
                var counts = identity.Class == ActorClass.Honest ? honest : paraphrase;
                counts.Add(items.Count, service.Add(document ? "docs" : "ads", [file], identity.Name));
            }
        }
    }

    private static Row Adgen(string workDir, DatanetFormat format, IEnumerable<string> lines)
    {
        var name = $"adgen-{format.ToString().ToLowerInvariant()}";
        using var ws = LedgerWorkspace.Init(Path.Combine(workDir, name), "bench.example/ledger", null);
        using var service = new DatanetService(ws);
        service.CreateContributor("owner");
        service.CreateDatanet("adgen", format, null, null, null);
        var file = Path.Combine(workDir, $"{name}.jsonl");
        File.WriteAllLines(file, lines);
        var counts = new Counts();
        counts.Add(File.ReadLines(file).Count(), service.Add("adgen", [file], "owner"));
        return counts.Row($"adgen {format.ToString().ToLowerInvariant()} (honest)", "false positive");
    }

    private sealed class Counts
    {
        private int _records, _exact, _jaccard, _paraphrase, _other;

        public void Add(int records, Datanets.Intake.IntakeResult result)
        {
            _records += records;
            foreach (var r in result.Rejected)
                if (r.Code == Datanets.Intake.RejectionCodes.Duplicate) _exact++;
                else if (r.Code != Datanets.Intake.RejectionCodes.NearDuplicate) _other++;
                else if (r.Reason.StartsWith("near-duplicate: same prompt", StringComparison.Ordinal)) _paraphrase++;
                else _jaccard++;
        }

        public Row Row(string data, string kind) => new(data, kind, _records, _exact, _jaccard, _paraphrase, _other);
    }
}
