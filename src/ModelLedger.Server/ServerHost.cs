using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Server.OpenAi;
using ModelLedger.Tuning.Serving;

namespace ModelLedger.Server;

/// <summary>
/// A running server: validates <see cref="ServerOptions"/>, loads the base model once, builds the generation service
/// through the factory (default <see cref="SerialCompletionService"/>; the batching engine plugs in the same way) and
/// listens with Kestrel. <see cref="Address"/> is the bound address (a free port when Port is 0). Dispose to stop;
/// the host owns the completion service and disposes it after the last request.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ICompletionService _service;

    private ServerHost(WebApplication app, ICompletionService service, Uri address)
    {
        (_app, _service, Address) = (app, service, address);
    }

    public Uri Address { get; }

    /// <summary>The model names served (<c>BASE</c>, <c>BASE:ADAPTER</c>…).</summary>
    public IReadOnlyList<string> Models => [.. _app.Services.GetRequiredService<ServedModels>().Names];

    /// <summary>Starts serving. Bad options are one <see cref="UserError"/> listing every problem, raised before the
    /// model loads.</summary>
    public static async Task<ServerHost> StartAsync(ServerOptions options,
        Func<PretrainedModel, ICompletionService>? serviceFactory = null, CancellationToken ct = default)
    {
        var validation = new ServerOptionsValidator().Validate(null, options);
        if (validation.Failed) throw new UserError(string.Join("; ", validation.Failures));
        var template = options.Template is string name ? ChatTemplate.Named(name) : null;
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
            var app = Build(options, service, prompts);
            await app.StartAsync(ct);
            var bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>()
                .Addresses.First();
            return new ServerHost(app, service, new Uri(bound));
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    private static WebApplication Build(ServerOptions options, ICompletionService service, ServingPrompts prompts)
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
        var modelName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.ModelDirectory)));
        var models = new ServedModels(modelName, options.Adapters);
        builder.Services.AddSingleton(models);
        builder.Services.AddSingleton(new CompletionHandler(models, service, prompts, options.Limits, new Admission(),
            TimeProvider.System));
        var app = builder.Build();
        app.UseMiddleware<ApiErrorMiddleware>();
        app.MapOpenAi();
        return app;
    }

    /// <summary>Completes when the server stops (Ctrl+C through <paramref name="ct"/>, or <see cref="DisposeAsync"/>).
    /// </summary>
    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _service.DisposeAsync();
    }
}
