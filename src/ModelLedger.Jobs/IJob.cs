namespace ModelLedger.Jobs;

/// <summary>A long-running capability behind one typed request and one typed result. Implementations MUST check the
/// whole request before touching the disk, report through <paramref name="events"/> synchronously on the calling
/// thread (in order), and stop at the next safe point when <paramref name="ct"/> is cancelled.</summary>
public interface IJob<in TRequest, TResult>
{
    Task<TResult> RunAsync(TRequest request, IProgress<JobEvent> events, CancellationToken ct);
}

/// <summary>A job whose work runs on one thread, libtorch work and every event included: <see cref="Run"/> on the
/// caller's thread (the CLI), <see cref="RunAsync"/> on a pool thread (a server).</summary>
public abstract class ThreadJob<TRequest, TResult> : IJob<TRequest, TResult>
{
    public Task<TResult> RunAsync(TRequest request, IProgress<JobEvent> events, CancellationToken ct) =>
        Task.Run(() => Run(request, events, ct), CancellationToken.None);

    public abstract TResult Run(TRequest request, IProgress<JobEvent> events, CancellationToken ct);
}

/// <summary>An <see cref="IProgress{T}"/> that calls its handler at once on the reporting thread. (The framework's
/// <c>Progress&lt;T&gt;</c> posts to the thread pool, which reorders events.)</summary>
public sealed class JobEvents(Action<JobEvent> handler) : IProgress<JobEvent>
{
    public static JobEvents None { get; } = new(_ => { });

    public void Report(JobEvent value) => handler(value);
}
