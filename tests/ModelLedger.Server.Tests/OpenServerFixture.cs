using ModelLedger.Data.Chat;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Adapters;

namespace ModelLedger.Server;

/// <summary>A server in open mode (no keys, no billing) on a free loopback port over TinyStories-656K with one LoRA
/// served as <c>TinyStories-656K:lora</c>, plus a separately loaded copy of the model as the reference.</summary>
public sealed class OpenServerFixture : IAsyncLifetime
{
    public const string Base = "TinyStories-656K";
    private readonly TempDirectory _dir = new();
    private ServerHost? _server;

    public ServerHost Server => _server ?? throw new InvalidOperationException("not started");
    public string Lora { get; private set; } = "";
    public Uri V1 => new(Server.Address, "/v1");

    public async ValueTask InitializeAsync()
    {
        Lora = TestAdapters.RandomLora(_dir.Sub("lora"), seed: 3);
        _server = await ServerHost.StartAsync(new ServerOptions
        {
            Port = 0, Open = true, ModelDirectory = TestPaths.TinyStories, Workspace = _dir.Sub("ws"),
            Adapters = new Dictionary<string, string> { ["lora"] = Lora },
            Limits = new ServerLimits { MaxBodyBytes = 4096, MaxTokens = 64 },
        });
    }

    /// <summary>What the engine itself answers, greedy: a chat through the model's template, or a plain prompt.
    /// </summary>
    public GenerationResult Reference(string text, int maxTokens, bool chat, string? adapter = null)
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var adapters = new AdapterSet(model);
        if (adapter is not null) adapters.Load(adapter, "a");
        var template = ChatTemplate.Detect(model.Tokenizer);
        var options = new GenerationOptions { MaxNewTokens = maxTokens };
        int[] prompt;
        if (chat)
        {
            prompt = template.EncodePrompt(model.Tokenizer, [new ChatMessage(ChatRole.User, text)]);
            options = options with
            {
                StopTokenIds = template.StopTokenIds(model.Tokenizer), StopStrings = template.StopStrings(model.Tokenizer),
            };
        }
        else prompt = model.Tokenizer.Encode(text, addSpecialTokens: true);
        return new TextGenerator(model).Generate([prompt], options)[0];
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _dir.Dispose();
    }
}
