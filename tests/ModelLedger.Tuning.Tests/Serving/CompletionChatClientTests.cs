using Microsoft.Extensions.AI;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Adapters;
using Turn = ModelLedger.Data.Chat.ChatMessage;
using TurnRole = ModelLedger.Data.Chat.ChatRole;

namespace ModelLedger.Tuning.Serving;

public sealed class CompletionChatClientTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The engine's own greedy answer to one user turn through the model's chat template.</summary>
    private static GenerationResult Reference(string text, int tokens, string? adapter = null)
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var adapters = new AdapterSet(model);
        if (adapter is not null) adapters.Load(adapter, "a");
        var template = ChatTemplate.Detect(model.Tokenizer);
        var prompt = template.EncodePrompt(model.Tokenizer, [new Turn(TurnRole.User, text)]);
        return new TextGenerator(model).Generate([prompt], new GenerationOptions
        {
            MaxNewTokens = tokens, StopTokenIds = template.StopTokenIds(model.Tokenizer),
            StopStrings = template.StopStrings(model.Tokenizer),
        })[0];
    }

    private static (SerialCompletionService, IChatClient) Client(IReadOnlyDictionary<string, string>? adapters = null)
    {
        var model = PretrainedModel.Load(TestPaths.TinyStories);
        var service = new SerialCompletionService(model);
        var prompts = new ServingPrompts(model.Tokenizer, ChatTemplate.Detect(model.Tokenizer), model.Directory);
        return (service, new CompletionChatClient(service, prompts, "tiny", adapters));
    }

    [Fact]
    public async Task Response_AndStream_EqualTheEngine()
    {
        var expected = Reference("Once upon a time", 9);
        var (service, client) = Client();
        await using var _ = service;
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 9 };
        var response = await client.GetResponseAsync("Once upon a time", options);
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(expected.PromptIds.Length, response.Usage?.InputTokenCount);
        Assert.Equal(expected.TokenIds.Length, response.Usage?.OutputTokenCount);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync("Once upon a time", options)) updates.Add(u);
        Assert.True(updates.Count > 2);
        var streamed = updates.ToChatResponse();
        Assert.Equal(expected.Text, streamed.Text);
        Assert.Equal(expected.TokenIds.Length, streamed.Usage?.OutputTokenCount);
        Assert.Equal(response.FinishReason, streamed.FinishReason);
    }

    [Fact]
    public async Task ModelId_SelectsTheAdapter_AndAnUnknownOneIsRefused()
    {
        var lora = TestAdapters.RandomLora(_dir.Sub("lora"), seed: 11);
        var expected = Reference("The dog", 8, lora);
        Assert.NotEqual(Reference("The dog", 8).Text, expected.Text);   // the adapter makes a difference
        var (service, client) = Client(new Dictionary<string, string> { ["mine"] = lora });
        await using var _ = service;
        var response = await client.GetResponseAsync("The dog",
            new ChatOptions { ModelId = "tiny:mine", Temperature = 0, MaxOutputTokens = 8 });
        Assert.Equal(expected.Text, response.Text);
        var error = await Assert.ThrowsAsync<UserError>(() =>
            client.GetResponseAsync("The dog", new ChatOptions { ModelId = "tiny:other" }));
        Assert.Contains("tiny:mine", error.Hint, StringComparison.Ordinal);
    }
}
