using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Policy;
using ModelLedger.Server.Keys;
using ModelLedger.Testing;
using ModelLedger.Tuning.Serving;

namespace ModelLedger.Server;

/// <summary>A billing server over a fresh SQLite workspace: a policy pricing 1,000 units per 1,000 tokens for prompt
/// and completion alike (so a call's fee is its prompt plus completion tokens), accounts funded from a mint, and
/// keys made per test (each key has its own rate-limit bucket of 5 requests per minute). Tokens are read at most one
/// per 10 ms, so a client can hang up mid-stream.</summary>
public sealed class BilledServerFixture : IAsyncLifetime
{
    public const int RequestsPerMinute = 5;
    private readonly TempDirectory _dir = new();
    private ServerHost? _server;

    public ServerHost Server => _server ?? throw new InvalidOperationException("not started");
    public string Workspace { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Workspace = _dir.Sub("ws");
        using (var ws = LedgerWorkspace.Init(Workspace, "test.example/server", null))
        using (var tables = RewardStore.Open(ws))
        {
            ws.Service.CreateAccount("mint", allowNegative: true);
            PolicyBook.Set(ws, tables, Billing.BillingBenchmark.UnitPolicy(), "test");
        }
        _server = await ServerHost.StartAsync(new ServerOptions
        {
            Port = 0, ModelDirectory = TestPaths.TinyStories, Workspace = Workspace,
            Limits = new ServerLimits { MaxTokens = 64, RequestsPerMinute = RequestsPerMinute },
        }, model => new PacedCompletionService(new SerialCompletionService(model), TimeSpan.FromMilliseconds(10)));
    }

    /// <summary>A new account holding <paramref name="funds"/> units and a key of <paramref name="role"/> for it.
    /// </summary>
    public string NewKey(KeyRole role, UInt128 funds, out string account)
    {
        account = $"user:{Guid.NewGuid():N}";
        using var ws = LedgerWorkspace.Open(Workspace, null);
        PolicyBook.EnsureAccounts(ws, [account]);
        if (funds > 0) ws.Service.Transfer([new Transfer($"fund:{account}", "mint", account, funds)]);
        using var keys = ApiKeyStore.Open(ws);
        return keys.Create(role, account, DateTimeOffset.UtcNow).Text;
    }

    public UInt128 Balance(string account)
    {
        using var ws = LedgerWorkspace.Open(Workspace, null);
        return (UInt128)(ws.Store.ReadAccounts().First(a => a.Id == account).Balance);
    }

    /// <summary>The inference event metered for <paramref name="id"/>, read from the workspace (null: not billed).
    /// </summary>
    public string? InferencePayload(string id)
    {
        using var ws = LedgerWorkspace.Open(Workspace, null);
        using var tables = RewardStore.Open(ws);
        tables.Sync(ws.Store);
        return tables.ReadInferencePayload(id);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _dir.Dispose();
    }
}
