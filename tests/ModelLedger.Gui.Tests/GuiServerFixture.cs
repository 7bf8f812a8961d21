using ModelLedger.Datanets;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Policy;
using ModelLedger.Server;
using ModelLedger.Server.Keys;
using ModelLedger.Testing;

namespace ModelLedger.Gui;

/// <summary>What the GUI runs against: a billing server on the tiny TinyStories model over a fresh SQLite workspace
/// (the unit policy: a call costs its token count; contributors alice and bob; an admin, a trainer and a consumer
/// key, the admin's account funded), the workspace database's job queue, and a real <c>mledger worker</c> child
/// process that runs the queued jobs as <c>mledger train</c> children.</summary>
public sealed class GuiServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private ServerHost? _server;
    private CliProcess? _worker;

    public ServerHost Server => _server ?? throw new InvalidOperationException("not started");
    public TempDirectory Dir => _dir;
    public string Admin { get; private set; } = "";
    public string Trainer { get; private set; } = "";
    public string Consumer { get; private set; } = "";
    public string WorkerStderr => _worker?.Stderr ?? "";

    public async ValueTask InitializeAsync()
    {
        var workspace = _dir.Sub("ws");
        using (var ws = LedgerWorkspace.Init(workspace, "test.example/gui", null))
        using (var tables = RewardStore.Open(ws))
        using (var datanets = new DatanetService(ws))
        using (var keys = ApiKeyStore.Open(ws))
        {
            ws.Service.CreateAccount("mint", allowNegative: true);
            PolicyBook.Set(ws, tables, ModelLedger.Server.Billing.BillingBenchmark.UnitPolicy(), "test");
            datanets.CreateContributor("alice");
            datanets.CreateContributor("bob");
            PolicyBook.EnsureAccounts(ws, ["user:admin", "user:trainer", "user:consumer"]);
            ws.Service.Transfer([new Transfer("fund:admin", "mint", "user:admin", 1_000_000)]);
            Admin = keys.Create(KeyRole.Admin, "user:admin", DateTimeOffset.UtcNow).Text;
            Trainer = keys.Create(KeyRole.Trainer, "user:trainer", DateTimeOffset.UtcNow).Text;
            Consumer = keys.Create(KeyRole.Consumer, "user:consumer", DateTimeOffset.UtcNow).Text;
        }
        _server = await ServerHost.StartAsync(new ServerOptions
        {
            Port = 0, ModelDirectory = TestPaths.TinyStories, Workspace = workspace,
            JobPollInterval = TimeSpan.FromMilliseconds(100),
            Limits = new ServerLimits { MaxTokens = 32, RequestsPerMinute = 10_000 },
        });
        _worker = new CliProcess("worker", "--workspace", workspace, "--poll", "0.2", "--name", "gui-test");
    }

    public async ValueTask DisposeAsync()
    {
        _worker?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
        _dir.Dispose();
    }
}
