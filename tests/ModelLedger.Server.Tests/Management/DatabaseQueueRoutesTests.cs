using System.Text.Json.Nodes;
using ModelLedger.Jobs.Queue;
using ModelLedger.Ledger;
using ModelLedger.Testing;

namespace ModelLedger.Server.Management;

/// <summary>The management server on its default queue: the workspace database's, which <c>mledger worker</c>
/// reads.</summary>
public sealed class DatabaseQueueFixture : ManagementServerFixture
{
    protected override bool UsesDatabaseQueue => true;
}

public sealed class DatabaseQueueRoutesTests(DatabaseQueueFixture server) : IClassFixture<DatabaseQueueFixture>
{
    [Fact]
    public async Task Train_LandsInTheWorkspaceDatabase_WhereAWorkerFindsIt_AndCancelReachesIt()
    {
        var yaml = $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            dataset: stories
            dataset_dir: {TestPaths.Datasets}
            template: alpaca
            max_steps: 2
            output_dir: {server.Dir.Sub("out")}
            """;
        var (status, job) = await server.SendAsync(HttpMethod.Post, "/v1/jobs/train", server.Trainer,
            ManagementServerFixture.Yaml(yaml));
        Assert.True(status == 201, job?.ToJsonString());
        string id = job!["id"]!.GetValue<string>();
        Assert.Empty(server.Jobs.List(1000));   // not the in-memory queue

        // A second process's view: the queue opened on the same workspace, as a worker opens it.
        using (var workspace = LedgerWorkspace.Open(server.Workspace, null))
        using (var queue = JobQueues.Open(workspace))
        {
            var stored = queue.Get(id)!;
            Assert.Equal(JobState.Queued, stored.State);
            Assert.Equal(yaml, JsonNode.Parse(stored.Payload)!["config"]!.GetValue<string>());
        }
        var (cancelStatus, cancelled) = await server.SendAsync(HttpMethod.Post, $"/v1/jobs/{id}/cancel", server.Trainer);
        Assert.True(cancelStatus == 200, cancelled?.ToJsonString());
        using (var workspace = LedgerWorkspace.Open(server.Workspace, null))
        using (var queue = JobQueues.Open(workspace))
            Assert.Equal(JobState.Cancelled, queue.Get(id)!.State);
    }
}
