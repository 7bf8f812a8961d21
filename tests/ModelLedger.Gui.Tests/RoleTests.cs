using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Playwright;

namespace ModelLedger.Gui;

/// <summary>Sign-in and roles: a wrong key is refused on the sign-in form; a consumer key sees neither the pages nor
/// the forms it may not use, and the API refuses them anyway; the nav is reachable by keyboard in order.</summary>
public sealed class RoleTests(GuiServerFixture server) : IClassFixture<GuiServerFixture>
{
    [Fact]
    public async Task AWrongKey_IsRefusedOnTheSignInForm()
    {
        await using var gui = await GuiSession.OpenAsync(server.Server.Address);
        await gui.Page.GetByLabel("API key").FillAsync("mlk-0000-not-a-key");
        await gui.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(gui.Page.Locator("#sign-in-error")).Not.ToBeEmptyAsync();
        Assert.False(await gui.Page.Locator("#nav").IsVisibleAsync());
    }

    [Fact]
    public async Task AConsumer_SeesNoTrainingOrDatanetForms_AndTheApiRefusesThem()
    {
        await using var gui = await GuiSession.OpenAsync(server.Server.Address);
        await gui.SignInAsync(server.Consumer);
        var nav = gui.Page.GetByRole(AriaRole.Navigation);
        string[] visible = [.. await nav.GetByRole(AriaRole.Link).AllTextContentsAsync()];
        Assert.Equal(["Datanets", "Chat", "Ledger", "Rewards"], visible);
        await gui.Page.GetByRole(AriaRole.Heading, new() { Name = "All datanets" }).WaitForAsync();
        Assert.Equal(0, await gui.Page.GetByRole(AriaRole.Button, new() { Name = "Create datanet" }).CountAsync());
        await gui.CheckPageAsync("datanets-consumer");

        // Hidden is not enough: the same calls with the consumer's key are refused by the API.
        using var http = new HttpClient { BaseAddress = server.Server.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.Consumer);
        using var create = await http.PostAsync("/v1/datanets", new StringContent(
            """{"name":"x","format":"alpaca"}""", Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        using var form = await http.GetAsync("/v1/gui/train-form", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, form.StatusCode);
    }

    [Fact]
    public async Task TheNav_IsReachedByTab_InOrder()
    {
        await using var gui = await GuiSession.OpenAsync(server.Server.Address);
        await gui.SignInAsync(server.Admin);
        await gui.Page.GetByRole(AriaRole.Heading, new() { Name = "Datanets", Level = 1 }).WaitForAsync();
        await gui.Page.ReloadAsync();   // the key stays in the tab's session storage; focus starts at the top
        await gui.Page.Locator("#who-text").WaitForAsync();
        var focused = new List<string>();
        for (int i = 0; i < 9; i++)
        {
            await gui.Page.Keyboard.PressAsync("Tab");
            focused.Add(await gui.Page.EvaluateAsync<string>("() => document.activeElement.textContent.trim()"));
        }
        // The brand link first, then every page of an admin in nav order.
        Assert.Equal(["ModelLedger", "Datanets", "Train", "Evaluate", "Chat", "Ledger", "Rewards", "Export"],
            focused.Take(8));
        await gui.Page.Keyboard.PressAsync("Shift+Tab");
        await gui.Page.Keyboard.PressAsync("Enter");   // Enter on the focused Export link opens the page
        await gui.Page.GetByRole(AriaRole.Heading, new() { Name = "Export", Level = 1 }).WaitForAsync();
        Assert.Empty(gui.Errors);
    }
}
