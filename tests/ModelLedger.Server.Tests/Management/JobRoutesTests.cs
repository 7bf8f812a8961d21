using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ModelLedger.Jobs.Queue;
using ModelLedger.Testing;

namespace ModelLedger.Server.Management;

public sealed class JobRoutesTests(ManagementServerFixture server) : IClassFixture<ManagementServerFixture>
{
    private static string TrainYaml(string extra = "") => $"""
        model_name_or_path: {TestPaths.TinyStories}
        finetuning_type: lora
        dataset: stories
        dataset_dir: {TestPaths.Datasets}
        template: alpaca
        max_steps: 2
        output_dir: out/ads
        {extra}
        """;

    [Fact]
    public async Task Train_QueuesTheValidatedConfigAsItsPayload()
    {
        var yaml = TrainYaml();
        var (status, job) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/train", server.Trainer,
            ManagementServerFixture.Yaml(yaml));
        Assert.True(status == 201, job?.ToJsonString());
        Assert.Equal("train", job!["kind"]!.GetValue<string>());
        Assert.Equal("queued", job["state"]!.GetValue<string>());
        var queued = server.Jobs.Get(job["id"]!.GetValue<string>())!;
        // The contract's train payload: {"config": YAML text}, the text as sent.
        Assert.Equal(yaml, JsonNode.Parse(queued.Payload)!["config"]!.GetValue<string>());

        var keys = new JsonObject
        {
            ["model_name_or_path"] = TestPaths.TinyStories, ["dataset"] = "stories", ["output_dir"] = "out/json",
            ["max_steps"] = 1,
        };
        var (jsonStatus, fromJson) = await server.PostAsync("/v1/jobs/train", server.Admin, keys);
        Assert.True(jsonStatus == 201, fromJson?.ToJsonString());
        var (_, list) = await server.GetAsync("/v1/jobs", server.Trainer);
        Assert.Equal(fromJson!["id"]!.GetValue<string>(), list!["data"]![0]!["id"]!.GetValue<string>());
        var (_, shown) = await server.GetAsync($"/v1/jobs/{job["id"]}", server.Trainer);
        Assert.Equal(yaml, shown!["payload"]!["config"]!.GetValue<string>());
    }

    [Fact]
    public async Task Train_WithABadConfig_Is400NamingTheFieldAndQueuesNothing()
    {
        int before = server.Jobs.List(1000).Count;
        var (status, body) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/train", server.Trainer,
            ManagementServerFixture.Yaml(TrainYaml("lora_rnak: 8")));
        Assert.Equal(400, status);
        Assert.Contains("lora_rnak", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (predictStatus, predict) = await server.PostAsync("/v1/jobs/predict", server.Trainer,
            new JsonObject { ["config"] = TrainYaml() });
        Assert.Equal(400, predictStatus);
        Assert.Equal("do_predict", predict!["error"]!["param"]!.GetValue<string>());
        Assert.Equal(before, server.Jobs.List(1000).Count);
    }

    [Fact]
    public async Task Predict_QueuesAnEvaluationJob()
    {
        var (status, job) = await server.PostAsync("/v1/jobs/predict", server.Trainer, new JsonObject
        {
            ["config"] = TrainYaml("do_predict: true\npredict_with_generate: true\neval_dataset: stories"),
        });
        Assert.True(status == 201, job?.ToJsonString());
        Assert.Equal("predict", job!["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task Export_QueuesAnExportConfig_AndRefusesABadOneOrATrainingConfig()
    {
        var yaml = $"model_name_or_path: {TestPaths.TinyStories}\nexport_dir: out/merged\nexport_format: gguf\n";
        var (status, job) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/export", server.Trainer,
            ManagementServerFixture.Yaml(yaml));
        Assert.True(status == 201, job?.ToJsonString());
        Assert.Equal("export", job!["kind"]!.GetValue<string>());
        Assert.Equal(yaml, JsonNode.Parse(server.Jobs.Get(job["id"]!.GetValue<string>())!.Payload)!["config"]!
            .GetValue<string>());
        int before = server.Jobs.List(1000).Count;
        var (badStatus, bad) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/export", server.Trainer,
            ManagementServerFixture.Yaml(yaml + "export_gguf_type: q4\n"));
        Assert.Equal(400, badStatus);
        Assert.Contains("export_gguf_type: 'q4' is not f32, f16 or q8_0", bad!["error"]!["message"]!.GetValue<string>(),
            StringComparison.Ordinal);
        var (trainStatus, _) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/export", server.Trainer,
            ManagementServerFixture.Yaml(TrainYaml()));
        Assert.Equal(400, trainStatus);
        var (asTrain, asTrainBody) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/train", server.Trainer,
            ManagementServerFixture.Yaml(yaml));
        Assert.Equal(400, asTrain);
        Assert.Equal("export_dir", asTrainBody!["error"]!["param"]!.GetValue<string>());
        Assert.Equal(before, server.Jobs.List(1000).Count);
    }

    [Fact]
    public async Task Events_ReplayStoredLines_FollowNewOnes_AndEndWithTheJob()
    {
        var job = server.Jobs.Submit("train", "{\"config\":\"x\"}");
        server.Jobs.Start(job.Id);
        server.Jobs.Append(job.Id, """{"event":"phase","name":"loading model"}""");
        server.Jobs.Append(job.Id, """{"event":"step","step":1,"total":2,"loss":2.5}""");
        var worker = Task.Run(async () =>
        {
            await Task.Delay(150, TestContext.Current.CancellationToken);
            server.Jobs.Append(job.Id, """{"event":"step","step":2,"total":2,"loss":2.1}""");
            server.Jobs.Finish(job.Id, JobState.Succeeded, """{"steps":2}""");
        }, TestContext.Current.CancellationToken);
        var events = await ReadEventsAsync(job.Id, lastEventId: null);
        await worker;
        Assert.Equal(["log 1", "log 2", "log 3", "end"], events.Select(e => e.Name + (e.Id is null ? "" : $" {e.Id}")));
        Assert.Equal(2, JsonNode.Parse(events[2].Data)!["step"]!.GetValue<int>());
        var end = JsonNode.Parse(events[3].Data)!;
        Assert.Equal("succeeded", end["state"]!.GetValue<string>());
        Assert.Equal(2, end["result"]!["steps"]!.GetValue<int>());

        // A client that reconnects with Last-Event-ID gets only what it missed.
        var resumed = await ReadEventsAsync(job.Id, lastEventId: "2");
        Assert.Equal(["log 3", "end"], resumed.Select(e => e.Name + (e.Id is null ? "" : $" {e.Id}")));
        var (_, logs) = await server.GetAsync($"/v1/jobs/{job.Id}/logs?after=1", server.Trainer);
        Assert.Equal([2L, 3L], logs!["data"]!.AsArray().Select(l => l!["seq"]!.GetValue<long>()));
    }

    private async Task<List<(string? Id, string Name, string Data)>> ReadEventsAsync(string id, string? lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{id}/events");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.Trainer);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead,
            TestContext.Current.CancellationToken);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(
            TestContext.Current.CancellationToken));
        var events = new List<(string?, string, string)>();
        string? eventId = null, name = null, data = null;
        while (await reader.ReadLineAsync(TestContext.Current.CancellationToken) is string line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal)) eventId = line[4..];
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
            else if (line.Length == 0 && name is not null)
            {
                events.Add((eventId, name, data ?? ""));
                (eventId, name, data) = (null, null, null);
            }
        }
        return events;
    }

    [Fact]
    public async Task Cancel_StopsAQueuedJob_AndRefusesAFinishedOne()
    {
        var (_, job) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/train", server.Trainer,
            ManagementServerFixture.Yaml(TrainYaml()));
        var id = job!["id"]!.GetValue<string>();
        var (status, cancelled) = await server.SendAsync(HttpMethod.Post, $"/v1/jobs/{id}/cancel", server.Trainer);
        Assert.True(status == 200, cancelled?.ToJsonString());
        Assert.Equal("cancelled", cancelled!["state"]!.GetValue<string>());
        var (again, _) = await server.SendAsync(HttpMethod.Post, $"/v1/jobs/{id}/cancel", server.Trainer);
        Assert.Equal(409, again);
        Assert.Equal(404, (await server.SendAsync(HttpMethod.Post, "/v1/jobs/nope/cancel", server.Trainer)).Status);
    }

    [Fact]
    public async Task Routes_RefuseConsumersAndContributors()
    {
        var (status, body) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/train", server.Consumer,
            ManagementServerFixture.Yaml(TrainYaml()));
        Assert.Equal(403, status);
        Assert.Equal("insufficient_permissions", body!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(403, (await server.GetAsync("/v1/jobs", server.Alice)).Status);
    }
}
