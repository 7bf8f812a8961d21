using ModelLedger.Testing;

namespace ModelLedger.Jobs.Queue;

/// <summary>The queue on one PostgreSQL shared by several claimers, each on its own connection as separate
/// processes would be: SELECT … FOR UPDATE SKIP LOCKED hands every job to exactly one of them. Skipped only where
/// PostgreSQL is not installed (.ci/run installs it). One server for the class, a fresh database per test.</summary>
public sealed class PostgresJobQueueTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>
{
    [Fact]
    [Trait("speed", "slow")]
    public async Task TwoConcurrentClaimers_ClaimEveryJobExactlyOnce()
    {
        Assert.SkipUnless(fixture.Postgres is not null, "PostgreSQL is not installed (apt-get install -y postgresql)");
        using var ws = new QueueWorkspace(fixture.Postgres!.CreateDatabase());
        const int jobs = 40;
        string[] submitted;
        using (var client = JobQueues.Open(ws.Workspace))
            submitted = [.. Enumerable.Range(0, jobs)
                .Select(i => client.Submit("train", QueueWorkspace.TrainPayload($"o{i}")).Id)];

        var claims = new System.Collections.Concurrent.ConcurrentBag<(string Worker, string Job)>();
        using var start = new Barrier(2);
        var workers = new[] { "w1", "w2" }.Select(name => Task.Run(() =>
        {
            using var queue = JobQueues.Open(ws.Workspace);
            start.SignalAndWait();
            while (queue.Claim(name, TimeSpan.FromMinutes(5)) is ClaimedJob claimed)
            {
                claims.Add((name, claimed.Job.Id));
                Assert.True(queue.AppendLog(claimed.Lease, [$"run by {name}"]));
                Assert.True(queue.Complete(claimed.Lease, $$"""{"worker":"{{name}}"}"""));
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(workers);

        Assert.Equal(submitted.Order(), claims.Select(c => c.Job).Order());   // all of them, none twice
        using var check = JobQueues.Open(ws.Workspace);
        foreach (var (worker, id) in claims)
        {
            var job = check.Get(id)!;
            Assert.Equal((JobState.Succeeded, 1, worker), (job.State, job.Attempts, job.Worker));
            Assert.Equal($"run by {worker}", check.Logs(id)[^1].Line);
        }
    }

    [Fact]
    [Trait("speed", "slow")]
    public void ExpiredLease_IsClaimedAgainOnPostgres_AndTheOldHolderIsFencedOff()
    {
        Assert.SkipUnless(fixture.Postgres is not null, "PostgreSQL is not installed (apt-get install -y postgresql)");
        using var ws = new QueueWorkspace(fixture.Postgres!.CreateDatabase());
        var clock = new ManualClock();
        using var first = JobQueues.Open(ws.Workspace, clock);
        using var second = JobQueues.Open(ws.Workspace, clock);
        var job = first.Submit("train", QueueWorkspace.TrainPayload());
        var old = first.Claim("w1", TimeSpan.FromSeconds(30))!;
        Assert.Null(second.Claim("w2", TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(31));
        var again = second.Claim("w2", TimeSpan.FromSeconds(30))!;
        Assert.Equal((job.Id, 2), (again.Job.Id, again.Lease.Attempt));
        Assert.Equal(LeaseStatus.Lost, first.Renew(old.Lease, TimeSpan.FromSeconds(30)));
        Assert.True(second.Complete(again.Lease, "{}"));
        Assert.Equal(JobState.Succeeded, first.Get(job.Id)!.State);
    }
}

/// <summary>A test class's throwaway server; null where PostgreSQL is not installed.</summary>
public sealed class PostgresFixture : IDisposable
{
    public PostgresServer? Postgres { get; } = PostgresServer.Installed ? new PostgresServer() : null;

    public void Dispose() => Postgres?.Dispose();
}
