using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Ledger;
using ModelLedger.Rewards;
using ModelLedger.Server.Billing;
using ModelLedger.Server.Jobs;
using ModelLedger.Server.Keys;
using ModelLedger.Server.Management;
using ModelLedger.Server.OpenAi;
using ModelLedger.Tuning.Serving;

namespace ModelLedger.Server;

/// <summary>
/// A running server: validates <see cref="ServerOptions"/> and the workspace (fee policy, attribution indexes) before
/// anything loads, then loads the base model once, builds the generation service
/// through the factory (default <see cref="SerialCompletionService"/>; the batching engine plugs in the same way) and
/// listens with Kestrel. <see cref="Address"/> is the bound address (a free port when Port is 0). Dispose to stop;
/// the host owns the completion service and disposes it after the last request.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ICompletionService _service;

    private readonly List<IDisposable> _owned;

    private ServerHost(WebApplication app, ICompletionService service, Uri address, List<IDisposable> owned)
    {
        (_app, _service, Address, _owned) = (app, service, address, owned);
    }

    public Uri Address { get; }

    /// <summary>The model names served (<c>BASE</c>, <c>BASE:ADAPTER</c>…).</summary>
    public IReadOnlyList<string> Models => [.. _app.Services.GetRequiredService<ServedModels>().Names];

    /// <summary>Starts serving. Bad options, a workspace that cannot bill (no policy) and a broken attribution index
    /// are one <see cref="UserError"/> each (a folder that is not a workspace: a <see cref="LedgerError"/>), raised
    /// before the model loads.</summary>
    public static async Task<ServerHost> StartAsync(ServerOptions options,
        Func<PretrainedModel, ICompletionService>? serviceFactory = null, CancellationToken ct = default)
    {
        var validation = new ServerOptionsValidator().Validate(null, options);
        if (validation.Failed) throw new UserError(string.Join("; ", validation.Failures));
        var template = options.Template is string name ? ChatTemplate.Named(name) : null;
        var owned = new List<IDisposable>();
        try
        {
            var billing = options.Open ? null : Billing(options, owned);
            var model = PretrainedModel.Load(options.ModelDirectory, TorchRuntime.ParseDevice(options.Device),
                TorchRuntime.ParseDType(options.DType));
            ICompletionService service;
            try { service = (serviceFactory ?? (m => new SerialCompletionService(m)))(model); }
            catch
            {
                model.Dispose();
                throw;
            }
            try
            {
                var prompts = new ServingPrompts(model.Tokenizer, template ?? ChatTemplate.Detect(model.Tokenizer),
                    model.Directory);
                var app = Build(options, service, prompts, billing, owned);
                await app.StartAsync(ct);
                var bound = app.Services.GetRequiredService<IServer>().Features
                    .GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
                return new ServerHost(app, service, new Uri(bound), owned);
            }
            catch
            {
                await service.DisposeAsync();
                throw;
            }
        }
        catch
        {
            Dispose(owned);
            throw;
        }
    }

    private static WebApplication Build(ServerOptions options, ICompletionService service, ServingPrompts prompts,
        Billed? billing, List<IDisposable> owned)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            var ip = options.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host);
            k.Listen(ip, options.Port);
            // A backstop: RequestReading answers an oversize body in OpenAI's shape before Kestrel would.
            k.Limits.MaxRequestBodySize = options.Limits.MaxBodyBytes + 1;
        });
        // A malformed route or query value reaches ApiErrorMiddleware as a 400 in OpenAI's shape.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "ModelLedger server";
            document.Info.Description = "OpenAI-compatible completions and the management API (docs/server.md)";
            return Task.CompletedTask;
        }));
        var modelName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.ModelDirectory)));
        var models = new ServedModels(modelName, options.Adapters);
        builder.Services.AddSingleton(models);
        builder.Services.AddSingleton(options);
        Admission admission = billing?.Admission ?? new Admission();
        if (billing is not null)
        {
            builder.Services.AddSingleton(billing.Keys);
            builder.Services.AddSingleton(billing.Meters);
            builder.Services.AddSingleton(billing.Hooks);
            builder.Services.AddSingleton(billing.Attributions);
            var jobs = JobBoard.Open(options);
            owned.Add(jobs);
            builder.Services.AddSingleton(jobs);
            // The GUI's chat with documents: a model copy of its own, loaded on the first question.
            var rag = new Attribution.Rag.RagEngine(() => PretrainedModel.Load(options.ModelDirectory,
                TorchRuntime.ParseDevice(options.Device), TorchRuntime.ParseDType(options.DType)));
            owned.Add(rag);
            builder.Services.AddSingleton(rag);
        }
        builder.Services.AddSingleton(admission);
        builder.Services.AddSingleton(new CompletionHandler(models, service, prompts, options.Limits, admission,
            TimeProvider.System));
        var app = builder.Build();
        app.UseMiddleware<ApiErrorMiddleware>();
        app.MapOpenApi("/openapi").ExcludeFromDescription();
        if (billing is not null) app.MapManagement();
        if (billing is not null) Gui.GuiFiles.MapGui(app);
        app.MapOpenAi();
        return app;
    }

    /// <summary>What a billing server holds: keys, the workspace pool, attribution hooks, and the admission that bills.
    /// </summary>
    private sealed record Billed(ApiKeyStore Keys, MeteringPool Meters, AttributionHooks Hooks,
        BilledAdmission Admission, AttributionQueue Attributions);

    /// <summary>Keys, metering and attribution over the workspace; refuses a workspace that is missing or has no fee
    /// policy up front (every call would fail otherwise). What is built here joins <paramref name="owned"/>, which the
    /// host disposes in reverse order.</summary>
    private static Billed Billing(ServerOptions options, List<IDisposable> owned)
    {
        using (var workspace = LedgerWorkspace.Open(options.Workspace, options.Db))
        using (var tables = RewardStore.Open(workspace))
        {
            tables.Sync(workspace.Store);
            if (tables.LatestPolicy() is null)
                throw new UserError($"{options.Workspace} has no fee policy, so calls cannot be billed",
                    field: "--workspace", hint: "mledger rewards policy set FILE, or --open to serve unbilled on loopback");
        }
        var keys = ApiKeyStore.Open(LedgerWorkspace.Open(options.Workspace, options.Db), ownsWorkspace: true);
        owned.Add(keys);
        var meters = new MeteringPool(options.Workspace, options.Db);
        owned.Add(meters);
        var commits = new GroupCommitQueue(meters);
        owned.Add(new Drain(commits));
        var hooks = AttributionHooks.Open(options);
        owned.Add(hooks);
        var attributions = new AttributionQueue(hooks, commits);
        owned.Add(new Drain(attributions));   // disposed first: its last attributions go through the commits
        var admission = new BilledAdmission(keys, meters, commits, options.Limits, hooks, attributions);
        owned.Add(admission);
        return new Billed(keys, meters, hooks, admission, attributions);
    }

    private static void Dispose(List<IDisposable> owned)
    {
        for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
    }

    /// <summary>Finishes queued work (bills, attributions) before what it uses is disposed.</summary>
    private sealed class Drain(IAsyncDisposable queue) : IDisposable
    {
        public void Dispose() => queue.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Completes when the server stops (Ctrl+C through <paramref name="ct"/>, or <see cref="DisposeAsync"/>).
    /// </summary>
    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _service.DisposeAsync();
        Dispose(_owned);
    }
}
