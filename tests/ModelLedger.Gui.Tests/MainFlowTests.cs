using System.Globalization;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace ModelLedger.Gui;

/// <summary>The GUI's main flow in a real browser, on the tiny model: a datanet with a small alpaca dataset (one
/// record an exact copy of another, so rejected as its duplicate), a snapshot, a documents datanet for RAG, a short
/// LoRA run on the snapshot whose loss chart fills in from the job's events, base-vs-adapter evaluation, a chat with
/// the trained adapter and its attribution panel (training contributors, spans found verbatim in the training data,
/// the fee split), a RAG question over the documents (retrieved documents with their shares), merged HF and GGUF
/// downloads, and the training run's ledger entry with its inclusion proof checked in the browser. Every page is
/// screenshotted and checked for console errors and unlabelled controls on the way.</summary>
public sealed class MainFlowTests(GuiServerFixture server) : IClassFixture<GuiServerFixture>
{
    // Eight distinct records and, last, a byte-for-byte copy of the first: intake must reject exactly that one.
    private static readonly string[] Stories =
    [
        "Tom had a red ball.", "Lily saw a big dog.", "The sun was warm.", "Ben liked to run.",
        "Sue found a shell.", "The cat sat on a mat.", "Max ate a green apple.", "Anna drew a blue bird.",
    ];

    private const string Instruction = "Tell a one-line story.";

    // Documents for RAG. BM25 by hand for "What color is Lily's ball?" (terms what, color, lily, s, ball; "is" is a
    // stop word): "Lily" holds lily and ball, "Ball games" holds ball, the other two hold none of the terms; so
    // exactly two are retrieved, "Lily" first (two matching terms against one, texts of equal length).
    private static readonly (string Title, string Text)[] Facts =
    [
        ("Lily", "Lily has a red ball."), ("Tom", "Tom flies a blue kite."), ("Sam", "Sam reads a green book."),
        ("Ball games", "A ball can bounce high."),
    ];

    [Fact]
    public async Task DatanetToTrainingToChatToLedger_InTheBrowser()
    {
        await using var gui = await GuiSession.OpenAsync(server.Server.Address);
        var page = gui.Page;
        await gui.StepsAsync("main-flow", async () =>
        {
            await gui.CheckPageAsync("sign-in");
            await gui.SignInAsync(server.Admin);

            // Datanets: create, upload (8 accepted, the copy rejected as the first record's duplicate), snapshot.
            await page.GetByLabel("Name").FillAsync("stories");
            await page.GetByRole(AriaRole.Button, new() { Name = "Create datanet" }).ClickAsync();
            await page.GetByRole(AriaRole.Heading, new() { Name = "Datanet stories" }).WaitForAsync();
            var data = server.Dir.File("stories.jsonl");
            await File.WriteAllLinesAsync(data, Stories.Append(Stories[0]).Select(s => new JsonObject
            {
                ["instruction"] = Instruction, ["input"] = "", ["output"] = s,
            }.ToJsonString()), TestContext.Current.CancellationToken);
            await page.GetByLabel("Files").SetInputFilesAsync(data);
            await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
            var results = page.Locator("#upload-results");
            await Assertions.Expect(results.GetByRole(AriaRole.Status)).ToHaveTextAsync("8 accepted, 1 rejected");
            var rejected = results.Locator("tr", new() { Has = page.Locator(".badge.rejected") });
            await Assertions.Expect(rejected).ToHaveCountAsync(1);
            await Assertions.Expect(rejected.Locator("td").Nth(1)).ToHaveTextAsync("9");   // the copy, record 9
            // duplicate_of: the first record's item
            await Assertions.Expect(rejected.Locator("td").Nth(4)).Not.ToBeEmptyAsync();
            var firstItem = await results.Locator("tr", new() { Has = page.Locator(".badge.accepted") }).First
                .Locator("td").Nth(3).TextContentAsync();
            Assert.Equal(firstItem, await rejected.Locator("td").Nth(4).TextContentAsync());
            await page.GetByRole(AriaRole.Button, new() { Name = "Snapshot now" }).ClickAsync();
            await Assertions.Expect(page.Locator("section", new() { HasText = "Snapshots" }).Locator("tbody tr"))
                .ToHaveCountAsync(1);
            await gui.CheckPageAsync("datanets");

            // A documents datanet for RAG, contributed by bob (alice owns the training data).
            await page.GetByLabel("Name").FillAsync("facts");
            await page.GetByLabel("Format", new() { Exact = true }).SelectOptionAsync("documents");
            await page.GetByRole(AriaRole.Button, new() { Name = "Create datanet" }).ClickAsync();
            await page.GetByRole(AriaRole.Heading, new() { Name = "Datanet facts" }).WaitForAsync();
            var facts = server.Dir.File("facts.jsonl");
            await File.WriteAllLinesAsync(facts, Facts.Select(f => new JsonObject
            {
                ["title"] = f.Title, ["text"] = f.Text,
            }.ToJsonString()), TestContext.Current.CancellationToken);
            await page.GetByLabel("Contribute as").SelectOptionAsync("bob");
            await page.GetByLabel("Files").SetInputFilesAsync(facts);
            await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
            await Assertions.Expect(page.Locator("#upload-results").GetByRole(AriaRole.Status))
                .ToHaveTextAsync("4 accepted, 0 rejected");

            // Train: the form's YAML, a live loss chart, success with a ledger entry; then serve the adapter.
            await gui.OpenAsync("Train");
            await page.Locator("[name=template]").FillAsync("alpaca");
            await page.Locator("[name=max_steps]").FillAsync("6");
            await page.Locator("[name=attribution]").SelectOptionAsync("true");
            await page.GetByText("All settings").ClickAsync();
            await page.Locator("[name=logging_steps]").FillAsync("1");
            var yaml = await page.Locator("#yaml").TextContentAsync();
            Assert.Contains("max_steps: 6\n", yaml);
            Assert.Contains("dataset: stories\n", yaml);
            await gui.CheckPageAsync("train-form");
            await page.GetByRole(AriaRole.Button, new() { Name = "Start training" }).ClickAsync();
            await page.WaitForFunctionAsync(
                "() => document.querySelectorAll('#run svg.chart circle').length >= 2", null,
                new() { Timeout = 120_000 });
            // generous: on a loaded 2-core machine (load ~30) the six steps and the gradient index took over 2 min
            await Assertions.Expect(page.Locator("#job-state"))
                .ToHaveTextAsync("succeeded", new() { Timeout = 400_000 });
            Assert.Equal(6, await page.Locator("#run svg.chart circle").CountAsync());   // one point per logged step
            await gui.CheckPageAsync("train-run");
            await page.GetByRole(AriaRole.Button, new() { Name = "Serve this adapter" }).ClickAsync();
            await page.GetByText("Serving ").WaitForAsync();

            // Evaluate: base and adapter side by side, predictions next to references.
            await gui.OpenAsync("Evaluate");
            await page.GetByLabel("Examples").FillAsync("3");
            await page.GetByLabel("New tokens").FillAsync("8");
            await page.GetByRole(AriaRole.Button, new() { Name = "Evaluate base and adapter" }).ClickAsync();
            var scores = page.Locator("#eval-results section", new() { HasText = "Scores" });
            await scores.WaitForAsync(new() { Timeout = 120_000 });
            Assert.Contains("predict_bleu-4", await scores.TextContentAsync());
            await Assertions.Expect(page.Locator("#eval-results section", new() { HasText = "Predictions" })
                .Locator("tbody tr")).ToHaveCountAsync(3);
            await gui.CheckPageAsync("evaluate");

            // Chat with the adapter (selected by default: the newest model), then its bill and attribution.
            await gui.OpenAsync("Chat");
            // Six steps do not teach the tiny model whole sentences, so single tokens count as spans here (the
            // Attribution tests check multi-token spans against hand-tokenised text).
            await page.GetByLabel("Min span tokens").FillAsync("1");
            await page.GetByLabel("Message").FillAsync(Instruction);
            await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
            await page.Locator("#fee").WaitForAsync();
            // the adapter's attribution is computed in the server's background queue after the answer
            await page.Locator("#attribution [data-status=done]").WaitForAsync(new() { Timeout = 180_000 });
            Assert.NotEmpty((await page.Locator(".msg.assistant").TextContentAsync())!);
            var panel = page.Locator("#attribution");
            Assert.Contains("Fee split", await panel.TextContentAsync());
            Assert.Contains("alice", await panel.TextContentAsync());   // the only contributor of the training data
            // Spans found verbatim: each one shown is text the test itself uploaded as training data, held by alice.
            var spans = page.Locator("#spans tbody tr");
            Assert.True(await spans.CountAsync() > 0, await page.Locator("#spans").TextContentAsync());
            string[] training = [Instruction, .. Stories];
            foreach (var span in await page.Locator("#spans q.span-text").AllTextContentsAsync())
                Assert.Contains(training, t => t.Contains(span.Trim(), StringComparison.Ordinal));
            Assert.All(await spans.Locator("td:nth-child(5)").AllTextContentsAsync(), h => Assert.Equal("alice", h));
            await gui.CheckPageAsync("chat");

            // RAG over the documents datanet with the base model (it reuses the documents' words in its answer, so the
            // ablation finds documents that helped): the two documents BM25 retrieves (see Facts), owned by bob.
            await page.GetByLabel("Model").SelectOptionAsync("TinyStories-656K");
            await page.GetByLabel("Documents (RAG)").SelectOptionAsync("facts");
            await page.GetByLabel("Message").FillAsync("What color is Lily's ball?");
            await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
            var documents = page.Locator("#attribution [data-status=done] #rag-documents tbody tr");
            await Assertions.Expect(documents).ToHaveCountAsync(2, new() { Timeout = 180_000 });
            Assert.StartsWith("Lily", await documents.Nth(0).Locator("td").Nth(1).TextContentAsync());
            Assert.StartsWith("Ball games", await documents.Nth(1).Locator("td").Nth(1).TextContentAsync());
            Assert.All(await documents.Locator("td:nth-child(3)").AllTextContentsAsync(), o => Assert.Equal("bob", o));
            await page.Locator("#attribution [data-status=done] #spans").WaitForAsync();
            // Shares are of the positive ablation effects: they sum to 100 % unless no document helped. The top
            // document then holds ≥ 50 %, and the policy's document pool (2,000 bps of a fee of ≥ 10 units: the
            // prompt alone has more tokens) pays bob at least one unit for it.
            var docShares = (await documents.Locator("td:nth-child(6)").AllTextContentsAsync())
                .Select(t => double.Parse(t.Replace("%", "").Trim(), CultureInfo.InvariantCulture)).ToArray();
            Assert.True(docShares.Sum() == 0 || Math.Abs(docShares.Sum() - 100) < 0.2, string.Join(", ", docShares));
            var paid = page.Locator("#fee-split tbody tr").Filter(new() { HasText = "contributor:bob" })
                .Filter(new() { HasText = "document" });
            Assert.Equal(docShares.Sum() > 0, await paid.CountAsync() > 0);
            await gui.CheckPageAsync("chat-rag");

            // The same question through the adapter: its training attribution (alice) follows in the background and
            // the attribution event names both methods, documents beside training data.
            await page.GetByLabel("Model").SelectOptionAsync(new SelectOptionValue { Index = 1 });
            await page.GetByLabel("Message").FillAsync("What color is Lily's ball?");
            await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
            await Assertions.Expect(page.Locator("#attribution [data-status=done]"))
                .ToContainTextAsync("tracin-cp-fisher+rag-ablation/leave-one-out", new() { Timeout = 180_000 });
            Assert.Contains("alice", await page.Locator("#attribution").TextContentAsync());
            await Assertions.Expect(page.Locator("#rag-documents tbody tr")).ToHaveCountAsync(2);

            // Export: the run's adapter merged as an HF checkpoint (a zip) and as a GGUF file, both downloaded.
            await gui.OpenAsync("Export");
            var exports = page.Locator("#exports tbody tr");
            await page.GetByRole(AriaRole.Button, new() { Name = "Export", Exact = true }).ClickAsync();
            await Assertions.Expect(exports).ToHaveCountAsync(1, new() { Timeout = 120_000 });
            var hf = await page.RunAndWaitForDownloadAsync(() =>
                exports.First.GetByRole(AriaRole.Button, new() { Name = "Download" }).ClickAsync());
            var zipPath = server.Dir.File("merged.zip");
            await hf.SaveAsAsync(zipPath);
            using (var zip = ZipFile.OpenRead(zipPath))
            {
                var names = zip.Entries.Select(e => e.FullName).ToArray();
                Assert.Contains("config.json", names);
                Assert.Contains("model.safetensors", names);
            }
            await page.GetByLabel("Format", new() { Exact = true }).SelectOptionAsync("gguf");
            await page.GetByRole(AriaRole.Button, new() { Name = "Export", Exact = true }).ClickAsync();
            await Assertions.Expect(exports).ToHaveCountAsync(2, new() { Timeout = 120_000 });
            var gguf = await page.RunAndWaitForDownloadAsync(() =>
                exports.First.GetByRole(AriaRole.Button, new() { Name = "Download" }).ClickAsync());
            var ggufPath = server.Dir.File("model.gguf");
            await gguf.SaveAsAsync(ggufPath);
            var magic = new byte[4];
            await using (var file = File.OpenRead(ggufPath)) await file.ReadExactlyAsync(magic);
            Assert.Equal("GGUF"u8.ToArray(), magic);   // the GGUF magic (ggml's gguf.md: the file's first 4 bytes)
            await gui.CheckPageAsync("export");

            // Ledger: the training run's entry (from the run's result), a checkpoint, the proof checked in the browser.
            await gui.OpenAsync("Train");
            var runs = page.Locator("section", new() { HasText = "Earlier runs" });
            await runs.GetByRole(AriaRole.Link).First.ClickAsync();
            await page.GetByRole(AriaRole.Heading, new() { NameRegex = new("Entry #\\d+: training.run") })
                .WaitForAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign a checkpoint now" }).ClickAsync();
            await page.Locator("#checkpoint").WaitForAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Verify inclusion in the browser" }).ClickAsync();
            await Assertions.Expect(page.Locator("#checkpoint-signature .badge")).ToHaveTextAsync("signature verified");
            await Assertions.Expect(page.Locator("#proof .badge")).ToHaveTextAsync("verified");
            await gui.CheckPageAsync("ledger");

            await gui.OpenAsync("Rewards");
            await page.Locator("#balances tbody tr").First.WaitForAsync();
            await gui.CheckPageAsync("rewards");
        });
    }
}
