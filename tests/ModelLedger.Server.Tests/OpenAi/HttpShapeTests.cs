using System.Net;
using System.Text;
using System.Text.Json;

namespace ModelLedger.Server.OpenAi;

/// <summary>The wire shapes checked on raw HTTP (OpenAI's API reference gives each field): models, text completions
/// whole and streamed, and the error shape with its status for each refusal.</summary>
public sealed class HttpShapeTests(OpenServerFixture fixture) : IClassFixture<OpenServerFixture>
{
    private readonly HttpClient _http = new() { BaseAddress = fixture.Server.Address };

    private Task<HttpResponseMessage> Post(string path, string json) =>
        _http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Models_ListsTheBaseAndEachAdapter()
    {
        var body = await Json(await _http.GetAsync("/v1/models"));
        Assert.Equal("list", body.GetProperty("object").GetString());
        Assert.Equal(["TinyStories-656K", "TinyStories-656K:lora"],
            body.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task TextCompletion_EqualsTheEngine()
    {
        var expected = fixture.Reference("Once upon a time", 9, chat: false);
        var response = await Post("/v1/completions",
            """{"model":"TinyStories-656K","prompt":"Once upon a time","max_tokens":9,"temperature":0}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json(response);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(expected.Text, choice.GetProperty("text").GetString());
        Assert.Equal(expected.TokenIds.Length == 9 ? "length" : "stop", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(expected.PromptIds.Length, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.TokenIds.Length, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(expected.PromptIds.Length + expected.TokenIds.Length, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task TextCompletion_Streamed_IsServerSentEventsEndingInDone()
    {
        var expected = fixture.Reference("The sun", 7, chat: false);
        var response = await Post("/v1/completions",
            """{"model":"TinyStories-656K","prompt":"The sun","max_tokens":7,"temperature":0,"stream":true}""");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var blocks = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(blocks, b => Assert.StartsWith("data: ", b, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", blocks[^1]);
        var chunks = blocks[..^1].Select(b => JsonDocument.Parse(b["data: ".Length..]).RootElement).ToArray();
        Assert.Equal(expected.Text, string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("text")
            .GetString())));
        Assert.NotEqual(JsonValueKind.Null, chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").ValueKind);
    }

    [Theory]
    [InlineData("""{"model":"TinyStories-656K","prompt":"x","max_tokens":65}""", 400, "max_tokens", "limit of 64")]
    [InlineData("""{"model":"TinyStories-656K","prompt":"x","temperature":3}""", 400, "temperature", "[0, 2]")]
    [InlineData("""{"model":"TinyStories-656K","prompt":"x","max_tokens":"many"}""", 400, "max_tokens", "not valid")]
    [InlineData("""{"model":"TinyStories-656K","prompt":"x","n":2}""", 400, "n", "n must be 1")]
    [InlineData("""{"model":"TinyStories-656K","prompt":"x","stop":["a","b","c","d","e"]}""", 400, "stop", "at most 4")]
    [InlineData("""{"model":"GPT-9","prompt":"x"}""", 404, null, "does not exist")]
    [InlineData("""{"prompt":"x"}""", 400, "model", "model parameter")]
    [InlineData("""{"model":"TinyStories-656K","prompt":"x",}""", 400, null, "not valid")]
    public async Task BadRequest_IsAnOpenAiErrorWithItsStatus(string json, int status, string? param, string says)
    {
        var response = await Post("/v1/completions", json);
        Assert.Equal(status, (int)response.StatusCode);
        var error = (await Json(response)).GetProperty("error");
        Assert.Contains(says, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task PromptLongerThanTheContext_Is400NamingTheLimit()
    {
        // 600 words: more tokens than TinyStories-656K's max_position_embeddings of 512 (config.json), within 4 KiB.
        var prompt = string.Join(' ', Enumerable.Repeat("a", 600));
        var response = await Post("/v1/chat/completions",
            $$"""{"model":"TinyStories-656K","messages":[{"role":"user","content":"{{prompt}}"}]}""");
        Assert.Equal(400, (int)response.StatusCode);
        var error = (await Json(response)).GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("context is 512 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BodyOverTheLimit_Is413()
    {
        var response = await Post("/v1/completions", $$"""{"model":"x","prompt":"{{new string('a', 5000)}}"}""");
        Assert.Equal(413, (int)response.StatusCode);
        Assert.Equal("request_too_large", (await Json(response)).GetProperty("error").GetProperty("code").GetString());
    }
}
