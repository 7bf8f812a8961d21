using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace ModelLedger.Server.OpenAi;

/// <summary>The official OpenAI .NET client and Microsoft.Extensions.AI's IChatClient over it, against a running
/// server; expected answers come from the engine called directly (greedy, so they are exact).</summary>
public sealed class OpenAiClientTests(OpenServerFixture fixture) : IClassFixture<OpenServerFixture>
{
    private ChatClient Client(string model) => new(model, new ApiKeyCredential("unused-in-open-mode"),
        new OpenAIClientOptions { Endpoint = fixture.V1 });

    private static ChatCompletionOptions Greedy(int tokens) =>
        new() { Temperature = 0, MaxOutputTokenCount = tokens };

    [Fact]
    public async Task ChatCompletion_EqualsTheEngine_WithUsage()
    {
        var expected = fixture.Reference("Once upon a time", 10, chat: true);
        ChatCompletion answer = await Client(OpenServerFixture.Base)
            .CompleteChatAsync([new UserChatMessage("Once upon a time")], Greedy(10));
        Assert.Equal(expected.Text, answer.Content[0].Text);
        Assert.Equal(expected.PromptIds.Length, answer.Usage.InputTokenCount);
        Assert.Equal(expected.TokenIds.Length, answer.Usage.OutputTokenCount);
        Assert.Equal(expected.TokenIds.Length == 10 ? ChatFinishReason.Length : ChatFinishReason.Stop,
            answer.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, answer.Role);
    }

    [Fact]
    public async Task ChatCompletion_Streamed_ConcatenatesToTheEngineAnswer()
    {
        var expected = fixture.Reference("The cat", 12, chat: true);
        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        int updates = 0;
        await foreach (var update in Client(OpenServerFixture.Base).CompleteChatStreamingAsync(
            [new UserChatMessage("The cat")], Greedy(12)))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }
        Assert.Equal(expected.Text, text.ToString());
        Assert.True(updates > 2, $"expected several chunks, got {updates}");
        Assert.Equal(expected.TokenIds.Length, usage?.OutputTokenCount);
        Assert.NotNull(finish);
    }

    [Fact]
    public async Task Adapter_SelectedByModelName_AnswersLikeTheEngineWithThatAdapter()
    {
        var plain = fixture.Reference("A little girl", 10, chat: true);
        var adapted = fixture.Reference("A little girl", 10, chat: true, adapter: fixture.Lora);
        Assert.NotEqual(plain.Text, adapted.Text);   // otherwise the test could not tell the adapter was used
        ChatCompletion answer = await Client($"{OpenServerFixture.Base}:lora")
            .CompleteChatAsync([new UserChatMessage("A little girl")], Greedy(10));
        Assert.Equal(adapted.Text, answer.Content[0].Text);
    }

    [Fact]
    public async Task UnknownModel_Is404ModelNotFound()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Client($"{OpenServerFixture.Base}:nope").CompleteChatAsync([new UserChatMessage("hi")], Greedy(2)));
        Assert.Equal(404, error.Status);
        Assert.Contains("model_not_found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExtensionsAiChatClient_OverTheServer_StreamingAndNot()
    {
        var expected = fixture.Reference("Tom had a ball", 8, chat: true);
        IChatClient chat = Client(OpenServerFixture.Base).AsIChatClient();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };
        var response = await chat.GetResponseAsync("Tom had a ball", options);
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(expected.TokenIds.Length, response.Usage?.OutputTokenCount);
        var streamed = await chat.GetStreamingResponseAsync("Tom had a ball", options).ToChatResponseAsync();
        Assert.Equal(expected.Text, streamed.Text);
    }
}
