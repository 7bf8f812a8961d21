using ModelLedger.Jobs.Queue;
using ModelLedger.Ledger;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Jobs;

/// <summary>The server's one <see cref="IJobQueue"/>, used from many request threads: the contract does not promise
/// thread safety, so calls are serialised here (each is one short database statement). Without a queue every call is a
/// 503. Owns the queue and the workspace it was opened over.</summary>
internal sealed class JobBoard : IDisposable
{
    private readonly IJobQueue? _queue;
    private readonly LedgerWorkspace? _workspace;
    private readonly Lock _lock = new();

    private JobBoard(IJobQueue? queue, LedgerWorkspace? workspace) => (_queue, _workspace) = (queue, workspace);

    public static JobBoard Open(ServerOptions options)
    {
        if (options.JobQueue is not { } open) return new(null, null);
        var workspace = LedgerWorkspace.Open(options.Workspace, options.Db);
        try { return new(open(workspace), workspace); }
        catch
        {
            workspace.Dispose();
            throw;
        }
    }

    public T Use<T>(Func<IJobQueue, T> work)
    {
        var queue = _queue ?? throw new ApiError(StatusCodes.Status503ServiceUnavailable,
            "this server has no job queue configured", "server_error", "no_job_queue");
        lock (_lock) return work(queue);
    }

    /// <summary>The job, or a 404.</summary>
    public JobRecord Get(string id) => Use(q => q.Get(id))
        ?? throw ApiError.NotFound($"no job with id '{id}'", "job_not_found");

    public void Dispose()
    {
        _queue?.Dispose();
        _workspace?.Dispose();
    }
}
