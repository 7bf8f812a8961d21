using System.Net;
using System.Text;
using System.Text.Json;
using ModelLedger.Testing;
using ModelLedger.Tuning.Serving;

namespace ModelLedger.Server.OpenAi;

/// <summary>The server on the continuous-batching engine (what <c>mledger serve</c> uses by default): concurrent
/// requests for the base and an adapter, decoded in the same batch, each answer equal to the engine's own greedy
/// answer for that model (the reference runs alone through AdapterSet and TextGenerator).</summary>
public sealed class BatchingServerTests(OpenServerFixture fixture) : IClassFixture<OpenServerFixture>
{
    [Fact]
    public async Task ConcurrentBaseAndAdapterRequests_EachEqualTheEngineAlone()
    {
        using var dir = new TempDirectory();
        await using var server = await ServerHost.StartAsync(new ServerOptions
        {
            Port = 0, Open = true, ModelDirectory = TestPaths.TinyStories, Workspace = dir.Sub("ws"),
            Adapters = new Dictionary<string, string> { ["lora"] = fixture.Lora },
        }, m => new BatchingCompletionService(m));
        using var http = new HttpClient { BaseAddress = server.Address };
        async Task<string> Complete(string model, string prompt)
        {
            var body = $$"""{"model":"{{model}}","prompt":"{{prompt}}","max_tokens":8,"temperature":0}""";
            var response = await http.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
        }
        string[] prompts = ["Once upon a time", "The cat", "Tom had a"];
        var calls = prompts.SelectMany(p => new[] { (Model: OpenServerFixture.Base, Adapter: (string?)null, Prompt: p),
            (Model: OpenServerFixture.Base + ":lora", Adapter: fixture.Lora, Prompt: p) }).ToArray();
        var answers = await Task.WhenAll(calls.Select(c => Complete(c.Model, c.Prompt)));
        for (int i = 0; i < calls.Length; i++)
            Assert.Equal(fixture.Reference(calls[i].Prompt, 8, chat: false, calls[i].Adapter).Text, answers[i]);
        Assert.NotEqual(answers[0], answers[1]);   // the adapter changes the answer
    }
}
