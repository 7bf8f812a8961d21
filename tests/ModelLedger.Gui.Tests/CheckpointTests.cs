using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace ModelLedger.Gui;

/// <summary>The Ledger page checks the latest checkpoint's Ed25519 signature (C2SP signed note) in the browser: a
/// genuine one shows "signature verified"; one whose root a lying server swapped (intercepted here, so the page gets
/// what such a server would send) shows "not verified", and so does an inclusion proof checked against it.</summary>
public sealed class CheckpointTests(GuiServerFixture server) : IClassFixture<GuiServerFixture>
{
    [Fact]
    public async Task ATamperedCheckpoint_IsNotVerified_InTheBrowser()
    {
        await using var gui = await GuiSession.OpenAsync(server.Server.Address);
        var page = gui.Page;
        await gui.StepsAsync("tampered-checkpoint", async () =>
        {
            await gui.SignInAsync(server.Admin);
            await gui.OpenAsync("Ledger");
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign a checkpoint now" }).ClickAsync();
            await Assertions.Expect(page.Locator("#checkpoint-signature .badge")).ToHaveTextAsync("signature verified");

            // The server lies: the checkpoint it answers names another root (all zero bytes) under the same
            // signature line, which covers the genuine text only.
            string? genuine = null;
            await page.RouteAsync("**/v1/gui/checkpoint", async route =>
            {
                var response = await route.FetchAsync();
                var body = JsonNode.Parse(await response.TextAsync())!;
                var note = body["checkpoint"]!["note"]!.GetValue<string>();
                genuine = note;
                var lines = note.Split('\n');
                lines[2] = Convert.ToBase64String(new byte[32]);
                body["checkpoint"]!["note"] = string.Join('\n', lines);
                await route.FulfillAsync(new() { Response = response, Body = body.ToJsonString() });
            });
            await page.ReloadAsync();
            await page.GetByRole(AriaRole.Heading, new() { Name = "Ledger", Level = 1 }).WaitForAsync();
            await Assertions.Expect(page.Locator("#checkpoint-signature .badge")).ToHaveTextAsync("not verified");
            Assert.NotNull(genuine);
            Assert.NotEqual(genuine, await page.Locator("#checkpoint").TextContentAsync());

            // An entry's inclusion proof against the tampered checkpoint is not verified either.
            var entries = page.Locator("section.card", new()
            {
                Has = page.GetByRole(AriaRole.Heading, new() { Name = "Entries", Exact = true }),
            });
            await entries.Locator("tbody tr").First.GetByRole(AriaRole.Button).ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Verify inclusion in the browser" }).ClickAsync();
            await Assertions.Expect(page.Locator("#proof .badge")).ToHaveTextAsync("not verified");
            await gui.CheckPageAsync("ledger-tampered");
        });
    }
}
