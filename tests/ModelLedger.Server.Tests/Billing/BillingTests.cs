using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ModelLedger.Server.Keys;
using OpenAI;
using OpenAI.Chat;

namespace ModelLedger.Server.Billing;

/// <summary>Keys, metering and idempotency against a running billing server. Fees follow the fixture's policy
/// (1,000 units per 1,000 tokens either way): fee = prompt tokens + completion tokens, worked out from usage.</summary>
public sealed class BillingTests(BilledServerFixture fixture) : IClassFixture<BilledServerFixture>
{
    private const string Chat = """{"model":"TinyStories-656K","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":12,"temperature":0}""";

    private async Task<HttpResponseMessage> Post(string path, string json, string? key,
        string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.Address, path))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var http = new HttpClient();
        return await http.SendAsync(request);
    }

    private async Task<HttpResponseMessage> Get(string path, string key)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.GetAsync(new Uri(fixture.Server.Address, path));
    }

    private static async Task<JsonElement> Json(HttpResponseMessage r) =>
        JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task MissingOrWrongKey_Is401()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post("/v1/chat/completions", Chat, null)).StatusCode);
        var key = fixture.NewKey(KeyRole.Consumer, 1000, out _);
        var forged = key[..^4] + (key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        var response = await Post("/v1/chat/completions", Chat, forged);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", (await Json(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task OpenAiClientCall_DebitsItsFee_AndItsAttributionIsReadable()
    {
        var key = fixture.NewKey(KeyRole.Consumer, 10_000, out var account);
        var client = new ChatClient("TinyStories-656K", new ApiKeyCredential(key),
            new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.Address, "/v1") });
        ChatCompletion answer = await client.CompleteChatAsync([new UserChatMessage("Once upon a time")],
            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 });
        int fee = answer.Usage.InputTokenCount + answer.Usage.OutputTokenCount;
        Assert.Equal((UInt128)(10_000 - fee), fixture.Balance(account));
        var attribution = await Json(await Get($"/v1/inferences/{answer.Id}/attribution", key));
        var recorded = attribution.GetProperty("event");
        Assert.Equal(account, recorded.GetProperty("caller").GetString());
        Assert.Equal(answer.Usage.OutputTokenCount, recorded.GetProperty("tokens").GetProperty("completion").GetInt32());
        Assert.Equal(fee.ToString(System.Globalization.CultureInfo.InvariantCulture),
            recorded.GetProperty("fee").GetString());
        // Nobody is attributed (no hook), so the contributor pools go to the remainder account: the slices sum to
        // the fee all the same.
        Assert.Equal(fee, attribution.GetProperty("accruals").EnumerateArray()
            .Sum(a => int.Parse(a.GetProperty("amount").GetString()!, System.Globalization.CultureInfo.InvariantCulture)));
        var stranger = fixture.NewKey(KeyRole.Consumer, 0, out _);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await Get($"/v1/inferences/{answer.Id}/attribution", stranger)).StatusCode);
        var admin = fixture.NewKey(KeyRole.Admin, 0, out _);
        Assert.Equal(HttpStatusCode.OK, (await Get($"/v1/inferences/{answer.Id}/attribution", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/v1/inferences/nope/attribution", admin)).StatusCode);
    }

    [Fact]
    public async Task ShortBalance_Is402_AndNothingIsCharged()
    {
        // The quote is prompt + max_tokens (12) units; 5 units cannot cover it.
        var key = fixture.NewKey(KeyRole.Consumer, 5, out var account);
        var response = await Post("/v1/chat/completions", Chat, key);
        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        Assert.Equal("insufficient_quota", (await Json(response)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal((UInt128)5, fixture.Balance(account));
    }

    [Fact]
    public async Task RetryWithTheSameIdempotencyKey_IsBilledOnce_AndAnswersTheSame()
    {
        var key = fixture.NewKey(KeyRole.Consumer, 10_000, out var account);
        var first = await Json(await Post("/v1/chat/completions", Chat, key, "retry-1"));
        var second = await Json(await Post("/v1/chat/completions", Chat, key, "retry-1"));
        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            second.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        var usage = first.GetProperty("usage");
        int fee = usage.GetProperty("total_tokens").GetInt32();
        Assert.Equal((UInt128)(10_000 - fee), fixture.Balance(account));
        var third = await Json(await Post("/v1/chat/completions", Chat, key, "retry-2"));   // a new key is a new call
        Assert.NotEqual(first.GetProperty("id").GetString(), third.GetProperty("id").GetString());
        Assert.Equal((UInt128)(10_000 - 2 * fee), fixture.Balance(account));
    }

    [Fact]
    public async Task RequestsBeyondTheKeysRate_Are429()
    {
        var key = fixture.NewKey(KeyRole.Consumer, 0, out _);
        for (int i = 0; i < BilledServerFixture.RequestsPerMinute; i++)   // admitted, then refused for the body
            Assert.Equal(HttpStatusCode.BadRequest, (await Post("/v1/completions", "{}", key)).StatusCode);
        var refused = await Post("/v1/completions", "{}", key);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var other = fixture.NewKey(KeyRole.Consumer, 0, out _);   // buckets are per key
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("/v1/completions", "{}", other)).StatusCode);
    }

    [Fact]
    public async Task OnlyAnAdminCreatesKeys_AndTheNewKeyWorks()
    {
        var consumer = fixture.NewKey(KeyRole.Consumer, 1000, out var account);
        var body = $$"""{"role":"trainer","account":"{{account}}"}""";
        Assert.Equal(HttpStatusCode.Forbidden, (await Post("/v1/keys", body, consumer)).StatusCode);
        var admin = fixture.NewKey(KeyRole.Admin, 0, out _);
        var created = await Post("/v1/keys", body, admin);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = (await Json(created)).GetProperty("key").GetString();
        Assert.Equal(HttpStatusCode.OK, (await Post("/v1/chat/completions", Chat, key)).StatusCode);
    }

    [Fact]
    public async Task ClientGoneMidStream_IsBilledForTheTokensProduced()
    {
        var key = fixture.NewKey(KeyRole.Consumer, 10_000, out var account);
        const string Long = """{"model":"TinyStories-656K","prompt":"Once","max_tokens":64,"stream":true,"stop":["never-said"]}""";
        using (var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.Address, "/v1/completions")))
        {
            request.Content = new StringContent(Long, Encoding.UTF8, "application/json");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            request.Headers.Add("Idempotency-Key", "gone");
            // Without these the handler would read the rest of the answer to reuse the connection: not a hang-up.
            using var http = new HttpClient(new SocketsHttpHandler
            {
                MaxResponseDrainSize = 0, ResponseDrainTimeout = TimeSpan.Zero,
            });
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            for (int blocks = 0; blocks < 2;)
                if ((await reader.ReadLineAsync())?.StartsWith("data: ", StringComparison.Ordinal) == true) blocks++;
        }   // the client hangs up after two chunks
        // The call's id: the same derivation the server uses for this account and Idempotency-Key.
        var id = BilledAdmission.InferenceId(new ApiKey("", KeyRole.Consumer, account, default, false), "gone");
        string? payload = null;
        for (int i = 0; i < 100 && payload is null; i++)   // billing follows the hang-up by a moment
        {
            payload = fixture.InferencePayload(id);
            if (payload is null) await Task.Delay(100);
        }
        var recorded = JsonDocument.Parse(payload ?? "null").RootElement;
        Assert.Equal(JsonValueKind.Object, recorded.ValueKind);
        var completion = recorded.GetProperty("tokens").GetProperty("completion").GetInt32();
        Assert.InRange(completion, 2, 63);   // stopped before the 64 asked for, and billed what was made
        var prompt = recorded.GetProperty("tokens").GetProperty("prompt").GetInt32();
        Assert.Equal((UInt128)(10_000 - prompt - completion), fixture.Balance(account));
    }
}
