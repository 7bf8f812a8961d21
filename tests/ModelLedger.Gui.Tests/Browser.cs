using Microsoft.Playwright;

namespace ModelLedger.Gui;

/// <summary>Headless Chromium from the system (Debian's <c>chromium</c> package), never a browser Playwright
/// downloads. <c>MLEDGER_CHROMIUM</c> names another executable; without one the tests fail saying how to install
/// it, unless <c>MLEDGER_GUI_TESTS=skip</c> opts out explicitly (then they are reported as skipped).</summary>
internal static class Browser
{
    public const string PathVariable = "MLEDGER_CHROMIUM", OptOutVariable = "MLEDGER_GUI_TESTS";
    private const string DefaultPath = "/usr/bin/chromium";

    public static string ExecutablePath()
    {
        if (Environment.GetEnvironmentVariable(OptOutVariable) == "skip")
            Assert.Skip($"{OptOutVariable}=skip: the GUI browser tests were opted out");
        var path = Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } p ? p : DefaultPath;
        if (!File.Exists(path))
            Assert.Fail($"no Chromium at {path}: install Debian's chromium (apt-get install -y chromium), set " +
                $"{PathVariable} to a Chromium executable, or set {OptOutVariable}=skip to opt out of the GUI tests");
        return path;
    }

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        var executable = ExecutablePath();
        var playwright = await Playwright.CreateAsync();
        try
        {
            // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = executable, Headless = true, Args = ["--no-sandbox"],
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}
