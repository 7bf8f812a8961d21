using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace ModelLedger.Gui;

/// <summary>The GUI's main flow in a real browser, on the tiny model: a datanet with a small alpaca dataset (one
/// record an exact copy of another, so rejected as its duplicate), a snapshot, a short LoRA run on it whose loss chart
/// fills in from the job's events, base-vs-adapter evaluation, a chat with the trained adapter and its attribution
/// panel, and the training run's ledger entry with its inclusion proof checked in the browser. Every page is
/// screenshotted and checked for console errors and unlabelled controls on the way.</summary>
public sealed class MainFlowTests(GuiServerFixture server) : IClassFixture<GuiServerFixture>
{
    // Eight distinct records and, last, a byte-for-byte copy of the first: intake must reject exactly that one.
    private static readonly string[] Stories =
    [
        "Tom had a red ball.", "Lily saw a big dog.", "The sun was warm.", "Ben liked to run.",
        "Sue found a shell.", "The cat sat on a mat.", "Max ate a green apple.", "Anna drew a blue bird.",
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
                ["instruction"] = "Tell a one-line story.", ["input"] = "", ["output"] = s,
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
            await Assertions.Expect(page.Locator("#job-state"))
                .ToHaveTextAsync("succeeded", new() { Timeout = 120_000 });
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
            await page.GetByLabel("Message").FillAsync("Tell a one-line story.");
            await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
            await page.Locator("#fee").WaitForAsync();
            // the adapter's attribution is computed in the server's background queue after the answer
            await page.Locator("#attribution [data-status=done]").WaitForAsync(new() { Timeout = 180_000 });
            Assert.NotEmpty((await page.Locator(".msg.assistant").TextContentAsync())!);
            var panel = page.Locator("#attribution");
            Assert.Contains("Fee split", await panel.TextContentAsync());
            Assert.Contains("alice", await panel.TextContentAsync());   // the only contributor of the training data
            await gui.CheckPageAsync("chat");

            // Ledger: the training run's entry (from the run's result), a checkpoint, the proof checked in the browser.
            await gui.OpenAsync("Train");
            var runs = page.Locator("section", new() { HasText = "Earlier runs" });
            await runs.GetByRole(AriaRole.Link).First.ClickAsync();
            await page.GetByRole(AriaRole.Heading, new() { NameRegex = new("Entry #\\d+: training.run") })
                .WaitForAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign a checkpoint now" }).ClickAsync();
            await page.Locator("#checkpoint").WaitForAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Verify inclusion in the browser" }).ClickAsync();
            await Assertions.Expect(page.Locator("#proof .badge")).ToHaveTextAsync("verified");
            await gui.CheckPageAsync("ledger");

            await gui.OpenAsync("Rewards");
            await page.Locator("#balances tbody tr").First.WaitForAsync();
            await gui.CheckPageAsync("rewards");
        });
    }
}
