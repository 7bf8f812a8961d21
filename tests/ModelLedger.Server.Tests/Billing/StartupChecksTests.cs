using ModelLedger.Ledger;
using ModelLedger.Testing;

namespace ModelLedger.Server.Billing;

/// <summary>A billing server checks its workspace before it loads anything: the model folder here exists but holds
/// no model, so an error about loading it would mean the model was loaded first.</summary>
public sealed class StartupChecksTests
{
    [Fact]
    public async Task Start_WithoutAFeePolicy_RefusesBeforeLoadingTheModel()
    {
        using var dir = new TempDirectory();
        LedgerWorkspace.Init(dir.Sub("ws"), "test.example/startup", null).Dispose();
        var e = await Assert.ThrowsAsync<UserError>(() => ServerHost.StartAsync(new ServerOptions
        {
            Port = 0, ModelDirectory = dir.Sub("not-a-model"), Workspace = dir.File("ws"),
        }, ct: TestContext.Current.CancellationToken));
        Assert.Contains("no fee policy", e.Message, StringComparison.Ordinal);
        Assert.Equal("--workspace", e.Field);
    }

    [Fact]
    public async Task Start_WithoutAWorkspace_RefusesBeforeLoadingTheModel()
    {
        using var dir = new TempDirectory();
        var e = await Assert.ThrowsAsync<LedgerError>(() => ServerHost.StartAsync(new ServerOptions
        {
            Port = 0, ModelDirectory = dir.Sub("not-a-model"), Workspace = dir.File("missing"),
        }, ct: TestContext.Current.CancellationToken));
        Assert.Contains("is not a ledger workspace", e.Message, StringComparison.Ordinal);
    }
}
