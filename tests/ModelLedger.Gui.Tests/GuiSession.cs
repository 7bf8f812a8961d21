using Microsoft.Playwright;

namespace ModelLedger.Gui;

/// <summary>One browser tab on the GUI: collects console errors and page errors as they happen, signs in with a key,
/// opens pages by their nav link, saves screenshots under the test output's <c>gui-screenshots/</c>, and checks a
/// page's basic accessibility (every form control has an accessible name).</summary>
internal sealed class GuiSession : IAsyncDisposable
{
    public static string ScreenshotDir { get; } = Path.Combine(AppContext.BaseDirectory, "gui-screenshots");
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly List<string> _errors = [];

    private GuiSession(IPlaywright playwright, IBrowser browser, IPage page) =>
        (_playwright, _browser, Page) = (playwright, browser, page);

    public IPage Page { get; }

    /// <summary>Console errors and uncaught page errors seen so far.</summary>
    public IReadOnlyList<string> Errors { get { lock (_errors) return [.. _errors]; } }

    public static async Task<GuiSession> OpenAsync(Uri server)
    {
        var (playwright, browser) = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync(new BrowserNewPageOptions
        {
            BaseURL = server.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        page.SetDefaultTimeout(30_000);
        var session = new GuiSession(playwright, browser, page);
        page.Console += (_, m) => { if (m.Type == "error") session.Error($"console: {m.Text}"); };
        page.PageError += (_, e) => session.Error($"page error: {e}");
        await page.GotoAsync("/");
        return session;
    }

    private void Error(string text) { lock (_errors) _errors.Add(text); }

    public async Task SignInAsync(string key)
    {
        await Page.GetByLabel("API key").FillAsync(key);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Page.Locator("#who-text").WaitForAsync();
    }

    public async Task OpenAsync(string link)
    {
        await Page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = link }).ClickAsync();
        await Page.GetByRole(AriaRole.Heading, new() { Name = link, Level = 1 }).WaitForAsync();
    }

    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ScreenshotDir);
        await Page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = true,
        });
    }

    /// <summary>The visible form controls without an accessible name: no label element, aria-label or
    /// aria-labelledby. Empty on a page every control of which is labelled.</summary>
    public async Task<IReadOnlyList<string>> UnlabelledControlsAsync() =>
        await Page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('input, select, textarea')]
              .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                && !e.getAttribute('aria-labelledby'))
              .map(e => e.outerHTML.slice(0, 120))
            """);

    /// <summary>Checks the page as the tests check every page: no console or page errors so far, every control
    /// labelled; then saves its screenshot.</summary>
    public async Task CheckPageAsync(string name)
    {
        await ScreenshotAsync(name);
        Assert.Empty(await UnlabelledControlsAsync());
        Assert.Empty(Errors);
    }

    /// <summary>Runs a test's steps; on a failure saves <c>failure-NAME.png</c> and rethrows with what the page showed
    /// and the console errors, so a failed run says why.</summary>
    public async Task StepsAsync(string name, Func<Task> steps)
    {
        try { await steps(); }
        catch (Exception e)
        {
            await ScreenshotAsync($"failure-{name}");
            var text = await Page.Locator("main").InnerTextAsync(new() { Timeout = 5_000 });
            throw new InvalidOperationException($"{e.Message}\n--- page ---\n{text}\n--- errors ---\n" +
                string.Join("\n", Errors), e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
