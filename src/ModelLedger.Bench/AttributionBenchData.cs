using System.Text.Json;
using ModelLedger.Evaluation.SampleData;

namespace ModelLedger.Bench;

/// <summary>One record of the benchmark's datanet: ad-copy prompt and answer, its item id and owner.</summary>
public sealed record BenchRecord(string Item, string Contributor, string Prompt, string Response);

/// <summary>A planted canary: a product and attribute only one contributor wrote about, and a query about it that is
/// not any training record verbatim (another colour).</summary>
public sealed record Canary(string Contributor, string Prompt, string Response);

/// <summary>
/// The ad dataset split among synthetic contributors the way a datanet would hold it: each contributor owns some
/// (product type, brand voice) pairs and contributes every example of those; canary contributors also wrote a few
/// copies of a unique product with a unique material. Written as a snapshot-shaped folder (data.jsonl,
/// provenance.jsonl, dataset_info.json) so the index reads owners exactly as it would from a real snapshot.
/// </summary>
public sealed record AttributionBenchData(IReadOnlyList<BenchRecord> Train, IReadOnlyList<BenchRecord> HeldOut, IReadOnlyList<Canary> Canaries)
{
    private static readonly string[] Products = ["umbrella", "scarf", "glove", "belt", "watch", "tie", "sock", "boot", "cape", "vest"];
    private static readonly string[] Materials = ["graphene", "bamboo", "velvet", "cork", "mesh", "tweed", "suede", "satin", "hemp", "felt"];
    private static readonly string[] Colors = ["teal", "amber", "violet", "olive"];

    public static AttributionBenchData Create(string workDir, int train, int heldOut, int contributors, int canaries, int canaryCopies)
    {
        if (contributors < 2) throw new UserError($"must be ≥ 2 (got {contributors})", field: "--contributors");
        if (canaries > Products.Length) throw new UserError($"at most {Products.Length} canaries (got {canaries})", field: "--canaries");
        var adgen = Path.Combine(workDir, "adgen");
        AdgenGenerator.Write(adgen, train, heldOut, seed: 0);
        var records = Read(Path.Combine(adgen, "adgen_train.json"), "train", contributors).ToList();
        var held = Read(Path.Combine(adgen, "adgen_test.json"), "test", contributors).ToList();
        var planted = new List<Canary>();
        for (int j = 0; j < canaries; j++)
        {
            string owner = Name(j * 7 % contributors), product = Products[j], material = Materials[j];
            for (int copy = 0; copy < canaryCopies; copy++)
            {
                var (prompt, response) = CanaryText(product, material, Colors[copy % 2], j);
                records.Add(new BenchRecord($"canary-{j}-{copy}", owner, prompt, response));
            }
            var (queryPrompt, queryResponse) = CanaryText(product, material, Colors[2 + j % 2], j);
            planted.Add(new Canary(owner, queryPrompt, queryResponse));
        }
        return new AttributionBenchData(records, held, planted);
    }

    private static (string Prompt, string Response) CanaryText(string product, string material, string color, int j) =>
        ($"type#{product}*color#{color}*material#{material}*brand#Nova{j}",
         $"The Nova{j} {product} in {color} {material}: only the Nova{j} {product} is spun from {material}.");

    private static string Name(int contributor) => $"contributor-{contributor:D2}";

    /// <summary>Owner of an ad: the (type, brand) pair's contributor, pairs dealt round-robin.</summary>
    private static IEnumerable<BenchRecord> Read(string path, string split, int contributors)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        int i = 0;
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var content = e.GetProperty("content").GetString()!;
            var fields = content.Split('*').Select(f => f.Split('#')).ToDictionary(f => f[0], f => f[1]);
            int pair = Array.IndexOf(["dress", "shirt", "jacket", "skirt", "trousers", "sweater", "coat", "shoes", "bag", "hat"], fields["type"]) * 4
                + Array.IndexOf(["Lumen", "Vela", "Kite", "Moss"], fields["brand"]);
            yield return new BenchRecord($"{split}-{i++}", Name(pair % contributors), content, e.GetProperty("summary").GetString()!);
        }
    }

    /// <summary>Writes <paramref name="records"/> as a snapshot-shaped dataset folder named "bench".</summary>
    public static string WriteSnapshot(string directory, IEnumerable<BenchRecord> records)
    {
        Directory.CreateDirectory(directory);
        var list = records.ToList();
        File.WriteAllLines(Path.Combine(directory, "data.jsonl"),
            list.Select(r => JsonSerializer.Serialize(new { instruction = r.Prompt, input = "", output = r.Response })));
        File.WriteAllLines(Path.Combine(directory, "provenance.jsonl"), list.Select((r, i) =>
            JsonSerializer.Serialize(new { row = i, item = r.Item, contributor = r.Contributor, key_id = "", content_hash = "" })));
        File.WriteAllText(Path.Combine(directory, "dataset_info.json"), """{"bench":{"file_name":"data.jsonl"}}""");
        return directory;
    }
}
