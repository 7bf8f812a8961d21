using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ModelLedger.Testing;

namespace ModelLedger.Server.Management;

/// <summary>The Chat page's routes: <c>POST /v1/gui/rag</c> answers from a documents datanet and bills the call with
/// the documents' owners credited by the fee policy's document pool; <c>POST /v1/gui/spans</c> says why a model
/// without a known training snapshot has no spans. (Spans over a trained adapter's snapshot are checked in
/// Attribution's TrainingSpansTests and in the browser test.)</summary>
public sealed class GuiChatRoutesTests(ManagementServerFixture server) : IClassFixture<ManagementServerFixture>
{
    private const string Question = "What color is Lily's ball?";

    // BM25 by hand for the question's terms (what, color, lily, s, ball; "is" is a stop word): "Lily" holds lily and
    // ball, "Ball games" ball only, the others none; so exactly two are retrieved, "Lily" first.
    private static readonly (string Title, string Text)[] Facts =
    [
        ("Lily", "Lily has a red ball."), ("Tom", "Tom flies a blue kite."), ("Sam", "Sam reads a green book."),
        ("Ball games", "A ball can bounce high."),
    ];

    private async Task DocumentsAsync(string name)
    {
        var (_, existing) = await server.GetAsync("/v1/datanets", server.Consumer);
        if (existing!["data"]!.AsArray().Any(d => d!["name"]!.GetValue<string>() == name)) return;
        var (created, body) = await server.PostAsync("/v1/datanets", server.Trainer,
            new JsonObject { ["name"] = name, ["format"] = "documents" });
        Assert.True(created == 201, body?.ToJsonString());
        var records = new JsonArray([.. Facts.Select(f => (JsonNode)new JsonObject
        {
            ["title"] = f.Title, ["text"] = f.Text,
        })]);
        var (added, answer) = await server.PostAsync($"/v1/datanets/{name}/contributions", server.Admin,
            new JsonObject { ["contributor"] = "bob", ["records"] = records });
        Assert.True(added == 200 && answer!["accepted"]!.GetValue<int>() == 4, answer?.ToJsonString());
    }

    private static JsonObject Ask(string datanet, string question = Question, int? k = null) => new()
    {
        ["model"] = "TinyStories-656K", ["datanet"] = datanet, ["question"] = question, ["k"] = k, ["max_tokens"] = 8,
    };

    [Fact]
    public async Task Rag_AnswersFromTheDocuments_AndBillsTheirOwnersShare()
    {
        await DocumentsAsync("facts");
        var (status, body) = await server.PostAsync("/v1/gui/rag", server.Consumer, Ask("facts"));
        Assert.True(status == 200, body?.ToJsonString());
        var documents = body!["documents"]!.AsArray();
        Assert.Equal(["Lily", "Ball games"], documents.Select(d => d!["title"]!.GetValue<string>()));
        Assert.All(documents, d => Assert.Equal("bob", d!["contributor"]!.GetValue<string>()));
        Assert.Equal("rag-ablation/leave-one-out", body["method"]!.GetValue<string>());
        Assert.Equal(3, body["scored_prompts"]!.GetValue<int>());   // leave-one-out over 2 documents: 2 + 1 prompts
        double shareSum = documents.Sum(d => d!["share"]!.GetValue<double>());
        Assert.True(shareSum == 0 || Math.Abs(shareSum - 1) < 1e-9, $"shares sum to {shareSum}");

        // The base has no gradient index: the bill and its attribution are one group commit, done at once.
        var inference = body["inference"]!.GetValue<string>();
        var (billed, bill) = await server.GetAsync($"/v1/inferences/{inference}/attribution", server.Consumer);
        Assert.True(billed == 200, bill?.ToJsonString());
        var payload = bill!["attribution"]!["event"]!;   // the entry's payload, as the ledger holds it
        Assert.Equal("rag-ablation/leave-one-out", payload["method"]!.GetValue<string>());
        Assert.Equal(documents.Select(d => d!["item"]!.GetValue<string>()).Order(StringComparer.Ordinal),
            payload["documents"]!.AsArray().Select(d => d!["document"]!.GetValue<string>()));
        // The question's id: SHA-256 of its lower-cased words joined by one space (AnswerSupport.QueryId's rule).
        var query = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("what color is lily s ball")));
        Assert.Equal(query, payload["query"]!.GetValue<string>());

        // The unit policy: one unit per token, documents 2,000 bps. The document pool goes to bob (floors lose at
        // most one unit per document), or to the remainder when no document helped the answer.
        var usage = body["usage"]!;
        long fee = usage["prompt_tokens"]!.GetValue<long>() + usage["completion_tokens"]!.GetValue<long>();
        Assert.Equal(fee.ToString(CultureInfo.InvariantCulture), bill["event"]!["fee"]!.GetValue<string>());
        long pool = fee * 2000 / 10000;
        var paid = bill["accruals"]!.AsArray().Where(a => a!["role"]!.GetValue<string>() == "document").ToArray();
        Assert.All(paid, a => Assert.Equal("contributor:bob", a!["account"]!.GetValue<string>()));
        long toBob = paid.Sum(a => long.Parse(a!["amount"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        if (shareSum == 0) Assert.Equal(0, toBob);
        else Assert.InRange(toBob, pool - documents.Count, pool);
        // What was stored replays: the rewards verifier re-derives the fee split from the log's events.
        using var ws = Ledger.LedgerWorkspace.Open(server.Workspace, null);
        using var tables = Rewards.RewardStore.Open(ws);
        var report = Rewards.RewardsVerifier.Verify(ws.Store, tables);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
    }

    /// <summary>stream: true sends the answer as {"delta"} events, then the whole result, then [DONE]; the deltas
    /// put together are the answer the result names; a refusal still comes back as its status, not a stream.</summary>
    [Fact]
    public async Task Rag_Streamed_SendsTheAnswerInPieces_ThenItsAttribution()
    {
        await DocumentsAsync("facts");
        var body = Ask("facts");
        body["stream"] = true;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/gui/rag")
        {
            Content = ManagementServerFixture.Json(body),
        };
        request.Headers.Authorization = new("Bearer", server.Consumer);
        using var response = await server.Http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Trim()).ToList();
        Assert.Equal("data: [DONE]", events[^1]);
        var parsed = events.SkipLast(1).Select(e => JsonNode.Parse(e["data: ".Length..])!.AsObject()).ToList();
        var deltas = parsed.Where(e => e.ContainsKey("delta")).Select(e => e["delta"]!.GetValue<string>()).ToList();
        var result = parsed[^1];
        Assert.Equal(parsed.Count - 1, deltas.Count);   // every event but the last is a piece of the answer
        Assert.True(deltas.Count >= 1, text);
        Assert.Equal(result["answer"]!.GetValue<string>(), string.Concat(deltas));
        Assert.Equal(["Lily", "Ball games"],
            result["documents"]!.AsArray().Select(d => d!["title"]!.GetValue<string>()));

        body["datanet"] = "nope";
        var (missing, _) = await server.PostAsync("/v1/gui/rag", server.Consumer, body);
        Assert.Equal(404, missing);
        body["datanet"] = "facts";
        Assert.Equal(402, (await server.PostAsync("/v1/gui/rag", server.Trainer, body)).Status);
    }

    [Fact]
    public async Task Rag_RefusesWhatItCannotAnswer_AndAnUnfundedCaller()
    {
        await DocumentsAsync("facts");
        Assert.Equal(404, (await server.PostAsync("/v1/gui/rag", server.Consumer, Ask("nope"))).Status);
        var (_, made) = await server.PostAsync("/v1/datanets", server.Trainer,
            new JsonObject { ["name"] = "qa", ["format"] = "alpaca" });
        var (wrongFormat, error) = await server.PostAsync("/v1/gui/rag", server.Consumer, Ask("qa"));
        Assert.True(wrongFormat == 400, error?.ToJsonString() + made?.ToJsonString());
        Assert.Equal("datanet", error!["error"]!["param"]!.GetValue<string>());
        var (tooMany, k) = await server.PostAsync("/v1/gui/rag", server.Consumer, Ask("facts", k: 9));
        Assert.Equal((400, "k"), (tooMany, k!["error"]!["param"]!.GetValue<string>()));
        var (noTerm, none) = await server.PostAsync("/v1/gui/rag", server.Consumer, Ask("facts", "Where do owls sleep?"));
        Assert.Equal((400, "question"), (noTerm, none!["error"]!["param"]!.GetValue<string>()));
        // The trainer's account holds nothing: refused with the quote, before anything is generated or billed.
        var (_, before) = await server.GetAsync("/v1/ledger", server.Consumer);
        Assert.Equal(402, (await server.PostAsync("/v1/gui/rag", server.Trainer, Ask("facts"))).Status);
        var (_, after) = await server.GetAsync("/v1/ledger", server.Consumer);
        Assert.Equal(before!["tree_size"]!.GetValue<long>(), after!["tree_size"]!.GetValue<long>());
    }

    [Fact]
    public async Task Spans_SayWhyThereAreNone_ForTheBaseAndAnAdapterWithoutAnIndex()
    {
        var (status, body) = await server.PostAsync("/v1/gui/spans", server.Consumer,
            new JsonObject { ["model"] = "TinyStories-656K", ["text"] = "Lily had a big red ball." });
        Assert.True(status == 200, body?.ToJsonString());
        Assert.Null(body!["spans"]);
        Assert.Contains("base model", body["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        var lora = TestAdapters.RandomLora(server.Dir.Sub("spans-lora"), seed: 3);
        var (loaded, _) = await server.PostAsync("/v1/adapters", server.Admin,
            new JsonObject { ["name"] = "bare", ["path"] = lora });
        Assert.Equal(201, loaded);
        var (_, bare) = await server.PostAsync("/v1/gui/spans", server.Consumer,
            new JsonObject { ["model"] = "TinyStories-656K:bare", ["text"] = "Lily" });
        Assert.Contains("no attribution index", bare!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(404, (await server.PostAsync("/v1/gui/spans", server.Consumer,
            new JsonObject { ["model"] = "TinyStories-656K:nope", ["text"] = "Lily" })).Status);
        Assert.Equal(400, (await server.PostAsync("/v1/gui/spans", server.Consumer,
            new JsonObject { ["model"] = "TinyStories-656K", ["text"] = "Lily", ["min_tokens"] = 0 })).Status);
    }
}
