using System.Text.Json;
using ModelLedger.Attribution.Influence;
using ModelLedger.Datanets;
using ModelLedger.Ledger;
using ModelLedger.Testing;
using static ModelLedger.Cli.Commands.CliJson;

namespace ModelLedger.Cli.Commands;

/// <summary><c>--bill CALLER</c> on generate, chat and rag ask, through the real binary. The policy prices every token
/// at 1 unit (1,000 per 1,000), so a fee is the prompt plus completion token counts the events record.</summary>
public sealed class BillingCommandTests
{
    private static long Fee(JsonElement inference) =>
        inference.GetProperty("tokens").GetProperty("prompt").GetInt64() + inference.GetProperty("tokens").GetProperty("completion").GetInt64();

    [Fact]
    public void Generate_Bill_DebitsTheFee_RecordsBothEvents_AndARetryIsBilledOnce()
    {
        using var w = new BilledWorkspace();
        w.Fund("user:bob", 1000);
        string[] args = ["generate", "--model", TestPaths.TinyStories, "--prompt", "Once upon a time", "--max-new-tokens", "8",
            "--temperature", "0", "--json", "--bill", "user:bob", "--workspace", w.Path, "--inference-id", "g-1"];
        var output = Json(CliRunner.Run(args));
        int tokens = output.GetProperty("prompt_ids").GetArrayLength() + output.GetProperty("token_ids").GetArrayLength();
        var inference = Assert.Single(w.Events("inference"));
        Assert.Equal("g-1", inference.GetProperty("inference").GetString());
        Assert.Equal("TinyStories-656K", inference.GetProperty("model").GetString());
        Assert.Equal(tokens, Fee(inference));
        Assert.Equal(tokens.ToString(System.Globalization.CultureInfo.InvariantCulture), inference.GetProperty("fee").GetString());
        Assert.Equal((UInt128)(1000 - tokens), w.Balance("user:bob"));
        // No adapter, so no gradient index: empty scores, method "none"; the training pool goes to the remainder.
        var attribution = Assert.Single(w.Events("attribution"));
        Assert.Equal("none", attribution.GetProperty("method").GetString());
        Assert.Empty(attribution.GetProperty("scores").EnumerateObject());
        Assert.DoesNotContain(w.Accruals("g-1"), a => a.Role == "training");

        var retry = CliRunner.Run(args);
        Assert.Equal(0, retry.ExitCode);
        Assert.Contains("already billed", retry.Stderr, StringComparison.Ordinal);
        Assert.Single(w.Events("inference"));
        Assert.Equal((UInt128)(1000 - tokens), w.Balance("user:bob"));
    }

    [Fact]
    public void Generate_Bill_RefusesAShortBalanceBeforeGenerating()
    {
        using var w = new BilledWorkspace();
        w.Fund("user:poor", 10);
        // BOS + "Once upon a time" is more than 2 tokens; with up to 8 new ones the quote exceeds 10 units.
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--prompt", "Once upon a time", "--max-new-tokens", "8",
            "--json", "--bill", "user:poor", "--workspace", w.Path);
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("insufficient balance: 'user:poor' has 10", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
        Assert.Empty(result.Stdout);
        Assert.Empty(w.Events("inference"));
        Assert.Equal((UInt128)10, w.Balance("user:poor"));
    }

    [Fact]
    public void Chat_Bill_BillsEachReplyAsItsOwnInference_AndARetriedSessionOnce()
    {
        using var w = new BilledWorkspace();
        w.Fund("user:bob", 10_000);
        string[] args = ["chat", "--model", TestPaths.TinyStories, "--max-new-tokens", "4", "--temperature", "0",
            "--bill", "user:bob", "--workspace", w.Path, "--inference-id", "c"];
        const string session = "Hello there\nTell me a story\n/exit\n";
        var result = CliRunner.Run(args, stdin: session);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var inferences = w.Events("inference");
        Assert.Equal(["c:1", "c:2"], inferences.Select(i => i.GetProperty("inference").GetString()));
        long fees = inferences.Sum(Fee);
        // The second reply's prompt holds the whole history, so it is longer than the first's.
        Assert.True(inferences[1].GetProperty("tokens").GetProperty("prompt").GetInt64()
            > inferences[0].GetProperty("tokens").GetProperty("prompt").GetInt64());
        Assert.Equal((UInt128)(10_000 - fees), w.Balance("user:bob"));
        Assert.Equal(2, w.Events("attribution").Count);

        Assert.Equal(0, CliRunner.Run(args, stdin: session).ExitCode);
        Assert.Equal(2, w.Events("inference").Count);
        Assert.Equal((UInt128)(10_000 - fees), w.Balance("user:bob"));
    }

    [Fact]
    public void RagAsk_Bill_PaysTheDocumentPoolToOwnersByAblationShare()
    {
        using var w = new BilledWorkspace();
        w.Fund("user:bob", 10_000);
        var dir = w.Dir;
        File.WriteAllText(dir.File("alice.jsonl"), """{"title":"Cat","text":"The cat sat on the mat. The cat was happy."}""" + "\n");
        File.WriteAllText(dir.File("bob.jsonl"), """{"title":"Cat toy","text":"The cat had a toy mouse."}""" + "\n"
            + """{"title":"Dog","text":"The dog ran in the park."}""" + "\n");
        var texts = new Dictionary<string, string>
        {
            ["Cat"] = "Cat\nThe cat sat on the mat. The cat was happy.", ["Cat toy"] = "Cat toy\nThe cat had a toy mouse.",
            ["Dog"] = "Dog\nThe dog ran in the park.",
        };
        string root = SnapshotOfAliceAndBob(w, "docs", DatanetFormat.Documents);
        var result = Json(CliRunner.Run("rag", "ask", "--datanet", "docs", "--workspace", w.Path, "--model", TestPaths.TinyStories,
            "--k", "3", "--max-new-tokens", "6", "--json", "--bill", "user:bob", "--inference", "r-1", "Where did the cat sit?"));
        var inference = Assert.Single(w.Events("inference"));
        Assert.Equal(result.GetProperty("answer_ids").GetArrayLength(), inference.GetProperty("tokens").GetProperty("completion").GetInt64());
        long fee = Fee(inference);
        Assert.Equal((UInt128)(10_000 - fee), w.Balance("user:bob"));
        // One attribution event (the metered one; rag's own is not appended twice), naming every retrieved document
        // with the owner, share and effect rag reported.
        var attribution = Assert.Single(w.Events("attribution"));
        Assert.Equal("r-1", attribution.GetProperty("inference").GetString());
        Assert.StartsWith("rag-ablation/", attribution.GetProperty("method").GetString(), StringComparison.Ordinal);
        Assert.Equal(root, attribution.GetProperty("index_root").GetString());
        var reported = result.GetProperty("documents").EnumerateArray().ToDictionary(d => d.GetProperty("item").GetString()!);
        var recorded = attribution.GetProperty("documents").EnumerateArray().ToList();
        Assert.Equal(reported.Keys.Order(), recorded.Select(d => d.GetProperty("document").GetString()!).Order());
        foreach (var d in recorded)
        {
            var r = reported[d.GetProperty("document").GetString()!];
            Assert.Equal(r.GetProperty("contributor").GetString(), d.GetProperty("owner").GetString());
            Assert.Equal(r.GetProperty("attribution").GetDouble(), d.GetProperty("share").GetDouble());
            Assert.Equal(r.GetProperty("effect").GetDouble(), d.GetProperty("effect").GetDouble());
            // Answer support over the document's title and text as written above (wiring check: the same function
            // over the texts this test wrote, so a support measured on another text or answer would differ).
            Assert.Equal(Rewards.Metering.AnswerSupport.Of("Where did the cat sit?", result.GetProperty("answer").GetString()!,
                texts[r.GetProperty("title").GetString()!]), d.GetProperty("support").GetDouble());
        }
        // The question's id: hex SHA-256 of its lower-cased words "where did the cat sit" (by `sha256sum`).
        Assert.Equal("d519f4a39902dc701ad5574277200acdbca3d81708e3e598a9ac708e8339fe67",
            attribution.GetProperty("query").GetString());
        // The split: floor(fee × 2000 / 10000) for the document pool, paid by share (a document without effect
        // gets nothing); the training pool has no attribution (no adapter index) and goes to the remainder.
        var accruals = w.Accruals("r-1");
        UInt128 pool = (UInt128)(fee * 2000 / 10_000);
        var paid = accruals.Where(a => a.Role == "document").ToList();
        var helped = reported.Values.Where(d => d.GetProperty("attribution").GetDouble() > 0)
            .Select(d => "contributor:" + d.GetProperty("contributor").GetString()).ToHashSet();
        Assert.All(paid, a => Assert.Contains(a.Account, helped));
        Assert.True(paid.Aggregate(UInt128.Zero, (s, a) => s + a.Amount) <= pool);
        Assert.DoesNotContain(accruals, a => a.Role == "training");
        Assert.Equal((UInt128)fee, accruals.Aggregate(UInt128.Zero, (s, a) => s + a.Amount));
    }

    [Fact]
    [Trait("speed", "slow")]
    public void Generate_Bill_WithAnAdapterIndex_RecordsTheTrainingAttributionAndPaysItsContributors()
    {
        using var w = new BilledWorkspace();
        w.Fund("user:bob", 10_000);
        var dir = w.Dir;
        File.WriteAllText(dir.File("alice.jsonl"), """
            {"instruction":"Describe the red kettle","input":"","output":"A shiny red kettle that boils water fast."}
            {"instruction":"Name a fruit","input":"","output":"An apple is a sweet crunchy fruit."}
            """);
        File.WriteAllText(dir.File("bob.jsonl"), """
            {"instruction":"Write a slogan for blue shoes","input":"","output":"Blue shoes make every step feel light."}
            {"instruction":"Tell me about the sea","input":"","output":"The sea is wide, deep and full of fish."}
            """);
        string root = SnapshotOfAliceAndBob(w, "ads", DatanetFormat.Alpaca);
        File.WriteAllText(dir.File("train.yaml"), $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            lora_rank: 2
            dataset: ads
            dataset_dir: {dir.File("snap")}
            template: alpaca
            cutoff_len: 128
            learning_rate: 1.0e-2
            max_steps: 2
            per_device_train_batch_size: 2
            attribution: true
            output_dir: {dir.File("out")}
            """);
        var train = CliRunner.Run("train", dir.File("train.yaml"), "--workspace", w.Path);
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.True(File.Exists(Path.Combine(dir.File("out"), "attribution", "index.json")), train.Stderr);

        const string prompt = "Describe the red kettle";
        var generated = Json(CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--adapter", $"ads={dir.File("out")}",
            "--prompt", prompt, "--max-new-tokens", "8", "--temperature", "0", "--json",
            "--bill", "user:bob", "--workspace", w.Path, "--inference-id", "g-idx"));
        var attribution = Assert.Single(w.Events("attribution"));
        Assert.Equal(InfluenceAttributor.MethodName(IndexAttributionHook.Score),
            attribution.GetProperty("method").GetString());
        Assert.Equal(root, attribution.GetProperty("index_root").GetString());
        var scores = attribution.GetProperty("scores").EnumerateObject().ToDictionary(s => s.Name, s => s.Value.GetDouble());
        // The reference: what `mledger attribute` computes for the same exchange from the same index.
        var reference = Json(CliRunner.Run("attribute", "--model", TestPaths.TinyStories, "--adapter", dir.File("out"),
            "--prompt", prompt, "--response", generated.GetProperty("text").GetString()!, "--json"));
        var expected = reference.GetProperty("contributors").EnumerateArray()
            .ToDictionary(c => c.GetProperty("contributor").GetString()!, c => c.GetProperty("share").GetDouble());
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Keys.Order(), scores.Keys.Order());
        foreach (var (name, share) in expected) Assert.Equal(share, scores[name], 12);
        Assert.Equal(1.0, scores.Values.Sum(), 9);
        // The documented rule (docs/rewards.md): pool = floor(fee × 5000 / 10000); weight = round(share × 10⁹);
        // each contributor gets floor(pool × weight / Σ weights).
        var inference = Assert.Single(w.Events("inference"));
        long pool = Fee(inference) * 5000 / 10_000;
        var weights = scores.ToDictionary(kv => "contributor:" + kv.Key, kv => (long)Math.Round(kv.Value * 1e9));
        var expectedPaid = weights.ToDictionary(kv => kv.Key, kv => (UInt128)pool * (UInt128)kv.Value / (UInt128)weights.Values.Sum())
            .Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expectedPaid);
        Assert.Equal(expectedPaid, w.Accruals("g-idx").Where(a => a.Role == "training")
            .Select(a => new KeyValuePair<string, UInt128>(a.Account, a.Amount)).OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    /// <summary>Datanet <paramref name="name"/> with alice.jsonl and bob.jsonl (in the workspace's folder) contributed
    /// by alice and bob, snapshotted to snap/; its root.</summary>
    private static string SnapshotOfAliceAndBob(BilledWorkspace w, string name, DatanetFormat format)
    {
        using var ws = LedgerWorkspace.Open(w.Path, null);
        using var service = new DatanetService(ws);
        service.CreateContributor("alice");
        service.CreateContributor("bob");
        service.CreateDatanet(name, format, null, null, null);
        foreach (var who in new[] { "alice", "bob" }) service.Add(name, [w.Dir.File($"{who}.jsonl")], who);
        return service.Snapshot(name, w.Dir.File("snap")).Root;
    }
}
