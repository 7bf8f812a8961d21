using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Policy;
using ModelLedger.Server.Keys;
using ModelLedger.Testing;

namespace ModelLedger.Server.Management;

/// <summary>A billing server over a fresh SQLite workspace (the unit policy: a call costs its token count), an
/// in-memory job queue, and one key per role: admin, trainer, consumer, and a contributor key billing
/// <c>contributor:alice</c> (alice and bob are registered contributors). Each test class gets its own.</summary>
public class ManagementServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private ServerHost? _server;

    public ServerHost Server => _server ?? throw new InvalidOperationException("not started");
    public InMemoryJobQueue Jobs { get; } = new();

    /// <summary>True: the server keeps jobs in the workspace database (the default queue) instead of <see cref="Jobs"/>.</summary>
    protected virtual bool UsesDatabaseQueue => false;
    public string Workspace { get; private set; } = "";
    public TempDirectory Dir => _dir;
    public HttpClient Http { get; } = new();
    public string Admin { get; private set; } = "";
    public string Trainer { get; private set; } = "";
    public string Consumer { get; private set; } = "";
    /// <summary>A contributor key billing <c>contributor:alice</c>.</summary>
    public string Alice { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Workspace = _dir.Sub("ws");
        using (var ws = LedgerWorkspace.Init(Workspace, "test.example/management", null))
        using (var tables = RewardStore.Open(ws))
        using (var datanets = new Datanets.DatanetService(ws))
        using (var keys = ApiKeyStore.Open(ws))
        {
            ws.Service.CreateAccount("mint", allowNegative: true);
            PolicyBook.Set(ws, tables, Billing.BillingBenchmark.UnitPolicy(), "test");
            datanets.CreateContributor("alice");
            datanets.CreateContributor("bob");
            PolicyBook.EnsureAccounts(ws, ["user:admin", "user:trainer", "user:consumer", "contributor:alice"]);
            ws.Service.Transfer([new Transfer("fund:consumer", "mint", "user:consumer", 1_000_000)]);
            Admin = keys.Create(KeyRole.Admin, "user:admin", DateTimeOffset.UtcNow).Text;
            Trainer = keys.Create(KeyRole.Trainer, "user:trainer", DateTimeOffset.UtcNow).Text;
            Consumer = keys.Create(KeyRole.Consumer, "user:consumer", DateTimeOffset.UtcNow).Text;
            Alice = keys.Create(KeyRole.Contributor, "contributor:alice", DateTimeOffset.UtcNow).Text;
        }
        _server = await ServerHost.StartAsync(new ServerOptions
        {
            Port = 0, ModelDirectory = TestPaths.TinyStories, Workspace = Workspace,
            JobQueue = UsesDatabaseQueue ? ServerJobQueue.Open : _ => Jobs,
            JobPollInterval = TimeSpan.FromMilliseconds(20),
            Limits = new ServerLimits { MaxTokens = 16, RequestsPerMinute = 10_000 },
        });
        Http.BaseAddress = Server.Address;
    }

    /// <summary>Sends a request with <paramref name="key"/>; the status and the body parsed as JSON (null when it is
    /// not JSON).</summary>
    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string key,
        HttpContent? content = null, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        JsonNode? body;
        try { body = text.Length == 0 ? null : JsonNode.Parse(text); }
        catch (System.Text.Json.JsonException) { body = null; }
        return ((int)response.StatusCode, body);
    }

    public Task<(int Status, JsonNode? Body)> GetAsync(string path, string key) => SendAsync(HttpMethod.Get, path, key);

    public Task<(int Status, JsonNode? Body)> PostAsync(string path, string key, JsonNode body) =>
        SendAsync(HttpMethod.Post, path, key, Json(body));

    public static StringContent Json(JsonNode body) =>
        new(body.ToJsonString(), Encoding.UTF8, "application/json");

    public static StringContent Yaml(string text) => new(text, Encoding.UTF8, "application/yaml");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_server is not null) await _server.DisposeAsync();
        _dir.Dispose();
    }
}
