using System.Text.Json.Nodes;

namespace ModelLedger.Jobs.Queue;

/// <summary>The queue's states and leases on SQLite with a hand-moved clock: claim, renew, finish, cancel, expiry
/// and the fence that shuts out a worker whose lease expired.</summary>
public sealed class SqlJobQueueTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);
    private readonly QueueWorkspace _ws = new();
    private readonly ManualClock _clock = new();
    private readonly SqlJobQueue _queue;

    public SqlJobQueueTests() => _queue = JobQueues.Open(_ws.Workspace, _clock, maxAttempts: 2);

    public void Dispose()
    {
        _queue.Dispose();
        _ws.Dispose();
    }

    [Fact]
    public void Claim_TakesTheOldestQueuedJob_OnceOnly()
    {
        var first = _queue.Submit("train", QueueWorkspace.TrainPayload("a"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        var second = _queue.Submit("train", QueueWorkspace.TrainPayload("b"));
        Assert.Equal(JobState.Queued, first.State);

        var claimed = Assert.IsType<ClaimedJob>(_queue.Claim("w1", Lease));
        Assert.Equal(first.Id, claimed.Job.Id);
        Assert.Equal(second.Id, _queue.Claim("w2", Lease)!.Job.Id);
        Assert.Null(_queue.Claim("w3", Lease));

        var stored = _queue.Get(first.Id)!;
        Assert.Equal((JobState.Running, 1, "w1"), (stored.State, stored.Attempts, stored.Worker));
        Assert.Equal(_clock.GetUtcNow() + Lease, stored.LeaseUntil);
        Assert.Equal([second.Id, first.Id], _queue.List().Select(j => j.Id));   // newest first
    }

    [Fact]
    public void Complete_StoresTheResult_AndEndsTheLease()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        var claimed = _queue.Claim("w1", Lease)!;
        Assert.True(_queue.Complete(claimed.Lease, """{"steps":2}"""));

        var done = _queue.Get(job.Id)!;
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.Equal(2, JsonNode.Parse(done.Result!)!["steps"]!.GetValue<int>());
        Assert.Equal(_clock.GetUtcNow(), done.Finished);
        Assert.Null(done.LeaseUntil);
        Assert.Equal(LeaseStatus.Lost, _queue.Renew(claimed.Lease, Lease));
        Assert.False(_queue.Fail(claimed.Lease, "late"));
        Assert.False(_queue.RequestCancel(job.Id));
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Null(_queue.Claim("w2", Lease));
    }

    [Fact]
    public void RequestCancel_OfAQueuedJob_CancelsItAtOnce()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        Assert.True(_queue.RequestCancel(job.Id));
        Assert.Equal(JobState.Cancelled, _queue.Get(job.Id)!.State);
        Assert.Null(_queue.Claim("w1", Lease));
        Assert.False(_queue.RequestCancel("no-such-job"));
    }

    [Fact]
    public void RequestCancel_OfARunningJob_IsSeenByTheNextRenewal()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        var claimed = _queue.Claim("w1", Lease)!;
        Assert.Equal(LeaseStatus.Held, _queue.Renew(claimed.Lease, Lease));
        Assert.True(_queue.RequestCancel(job.Id));
        Assert.Equal(JobState.Running, _queue.Get(job.Id)!.State);   // the worker stops it, not the client
        Assert.Equal(LeaseStatus.CancelRequested, _queue.Renew(claimed.Lease, Lease));
        Assert.True(_queue.Cancelled(claimed.Lease, "stopped"));
        Assert.Equal(JobState.Cancelled, _queue.Get(job.Id)!.State);
    }

    [Fact]
    public void ExpiredLease_MakesTheJobClaimableAgain_AndFencesOffTheOldWorker()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        var old = _queue.Claim("w1", Lease)!;
        _clock.Advance(Lease - TimeSpan.FromSeconds(1));
        Assert.Null(_queue.Claim("w2", Lease));   // not yet expired
        _clock.Advance(TimeSpan.FromSeconds(2));

        var again = _queue.Claim("w2", Lease)!;
        Assert.Equal(job.Id, again.Job.Id);
        Assert.Equal((2, "w2"), (again.Lease.Attempt, again.Job.Worker));
        Assert.Equal(LeaseStatus.Lost, _queue.Renew(old.Lease, Lease));
        Assert.False(_queue.AppendLog(old.Lease, ["late line"]));
        Assert.False(_queue.Complete(old.Lease, "{}"));
        Assert.True(_queue.Complete(again.Lease, "{}"));
        Assert.DoesNotContain(_queue.Logs(job.Id), l => l.Line == "late line");
    }

    [Fact]
    public void Renewal_KeepsTheJobFromOtherWorkers()
    {
        _queue.Submit("train", QueueWorkspace.TrainPayload());
        var claimed = _queue.Claim("w1", Lease)!;
        for (int i = 0; i < 3; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(40));
            Assert.Equal(LeaseStatus.Held, _queue.Renew(claimed.Lease, Lease));
            Assert.Null(_queue.Claim("w2", Lease));
        }
    }

    [Fact]
    public void ExpiredLease_AfterTheLastAttempt_FailsTheJobWithTheReason()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        for (int attempt = 1; attempt <= 2; attempt++)   // maxAttempts: 2 (the constructor)
        {
            Assert.Equal(attempt, _queue.Claim($"w{attempt}", Lease)!.Lease.Attempt);
            _clock.Advance(Lease + TimeSpan.FromSeconds(1));
        }
        Assert.Null(_queue.Claim("w3", Lease));
        var failed = _queue.Get(job.Id)!;
        Assert.Equal(JobState.Failed, failed.State);
        Assert.StartsWith("gave up after 2 attempts", failed.Error, StringComparison.Ordinal);
        Assert.Contains("w2", failed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpiredLease_OfAJobAskedToCancel_EndsCancelled()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        _queue.Claim("w1", Lease);
        _queue.RequestCancel(job.Id);
        _clock.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.Null(_queue.Claim("w2", Lease));
        Assert.Equal(JobState.Cancelled, _queue.Get(job.Id)!.State);
    }

    [Fact]
    public void Release_PutsTheJobBack_WithoutSpendingAnAttempt()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        Assert.True(_queue.Release(_queue.Claim("w1", Lease)!.Lease));
        var back = _queue.Get(job.Id)!;
        Assert.Equal((JobState.Queued, 0, null), (back.State, back.Attempts, back.Worker));
        Assert.Equal(1, _queue.Claim("w2", Lease)!.Lease.Attempt);
    }

    [Fact]
    public void Logs_AreNumberedFromOne_AcrossClaims_AndReadAfterASeq()
    {
        var job = _queue.Submit("train", QueueWorkspace.TrainPayload());
        var claimed = _queue.Claim("w1", Lease)!;   // line 1: the queue's "claimed by" note
        Assert.True(_queue.AppendLog(claimed.Lease, ["a", "b"]));
        Assert.True(_queue.AppendLog(claimed.Lease, ["c"]));
        var all = _queue.Logs(job.Id);
        Assert.Equal([1L, 2, 3, 4], all.Select(l => l.Seq));
        Assert.Contains("claimed by w1 (attempt 1 of 2)", all[0].Line, StringComparison.Ordinal);
        Assert.Equal(["b", "c"], _queue.Logs(job.Id, afterSeq: 2).Select(l => l.Line));
        _clock.Advance(Lease * 2);
        _queue.Claim("w2", Lease);   // the expiry note and the new claim continue the numbering
        Assert.Equal([5L, 6], _queue.Logs(job.Id, afterSeq: 4).Select(l => l.Seq));
    }

    [Fact]
    public void Submit_RejectsABadConfig_AndQueuesNothing()
    {
        var bad = JobPayloadsTests.Payload("lora_rank: 0\n");
        var error = Assert.Throws<UserError>(() => _queue.Submit("train", bad));
        Assert.Contains("lora_rank: must be", error.Message, StringComparison.Ordinal);
        Assert.Throws<UserError>(() => _queue.Submit("eval", QueueWorkspace.TrainPayload()));
        Assert.Throws<UserError>(() => _queue.Submit("train", "{\"config\": 3}"));
        Assert.Empty(_queue.List());
    }
}
