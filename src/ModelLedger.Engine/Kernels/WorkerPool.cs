using System.Diagnostics;

namespace ModelLedger.Engine.Kernels;

/// <summary>One piece of a parallel job: <paramref name="worker"/> of <paramref name="workers"/> threads, which
/// may meet at <see cref="WorkerPool.Barrier"/> between phases.</summary>
internal interface IParallelWork
{
    void Execute(int worker, int workers);
}

/// <summary>
/// The calling thread plus persistent background workers (one per further core) for the decode kernels. A decode step
/// is dozens of phases of microseconds each, too short for the thread pool's queueing, so workers spin briefly on the
/// next job or barrier (cheap when it comes soon, as it does inside a step) and then sleep (so an idle process, or one
/// sharing its cores, does not burn them). One job at a time; concurrent callers queue on a lock.
/// </summary>
internal sealed class WorkerPool
{
    public static WorkerPool Shared { get; } = new(ThreadCount());

    /// <summary>How long an idle worker spins for the next job before it sleeps: longer than the host work between
    /// two decode steps (sampling, detokenizing), far shorter than a user notices as load.</summary>
    private static readonly long IdleSpinTicks = Stopwatch.Frequency / 5000;   // 200 µs

    private readonly object _run = new(), _sleep = new();
    private IParallelWork? _work;
    private int _workers, _pending, _sleepers, _arrived;
    private long _generation;
    private volatile int _phase;
    private volatile bool _failed;
    private Exception? _failure;

    public int Size { get; }

    private WorkerPool(int size)
    {
        Size = Math.Max(1, size);
        for (int i = 1; i < Size; i++)
            new Thread(Loop) { IsBackground = true, Name = $"mledger-decode-{i}" }.Start(i);
    }

    private static int ThreadCount() =>
        int.TryParse(Environment.GetEnvironmentVariable("MLEDGER_DECODE_THREADS"), out int n) && n > 0
            ? n : Environment.ProcessorCount;

    /// <summary>Runs <paramref name="work"/> on <paramref name="threads"/> threads (this one is worker 0) and returns
    /// when all are done; an exception in any of them is rethrown here.</summary>
    public void Run(IParallelWork work, int threads)
    {
        threads = Math.Clamp(threads, 1, Size);
        lock (_run)
        {
            if (threads == 1)
            {
                _workers = 1;
                work.Execute(0, 1);
                return;
            }
            (_work, _workers, _pending, _arrived, _failed, _failure) = (work, threads, threads - 1, 0, false, null);
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) > 0)
                lock (_sleep) Monitor.PulseAll(_sleep);
            Execute(work, 0, threads);
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) > 0) spin.SpinOnce(sleep1Threshold: -1);
            _work = null;
            if (_failure is not null) throw new AggregateException("a decode worker failed", _failure);
        }
    }

    /// <summary>Output rows [from, to) of n for thread t, cut at multiples of 16 (whole cache lines of
    /// output).</summary>
    public static (int From, int To) Share(int n, int t, int threads)
    {
        int Edge(int i) => i == threads ? n : (int)((long)n * i / threads) & ~15;
        return (Edge(t), Edge(t + 1));
    }

    /// <summary>Waits until every thread of the current job has arrived here.</summary>
    public void Barrier()
    {
        if (_workers == 1) return;
        int phase = _phase;   // read before arriving: the last arrival moves it on only after this thread counted
        if (Interlocked.Increment(ref _arrived) == _workers)
        {
            _arrived = 0;
            _phase = phase + 1;
            return;
        }
        var spin = new SpinWait();
        while (_phase == phase)
        {
            if (_failed) throw new OperationCanceledException("another decode worker failed");
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void Execute(IParallelWork work, int worker, int workers)
    {
        try
        {
            work.Execute(worker, workers);
        }
        catch (Exception e)
        {
            if (e is not OperationCanceledException) Interlocked.CompareExchange(ref _failure, e, null);
            _failed = true;   // releases the others from their barriers
        }
    }

    private void Loop(object? state)
    {
        int index = (int)state!;
        long seen = 0;
        while (true)
        {
            long spinUntil = Stopwatch.GetTimestamp() + IdleSpinTicks;
            while (Volatile.Read(ref _generation) == seen)
            {
                if (Stopwatch.GetTimestamp() < spinUntil)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                lock (_sleep)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen) Monitor.Wait(_sleep);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            seen = Volatile.Read(ref _generation);
            var work = _work;
            if (work is null || index >= _workers) continue;
            Execute(work, index, _workers);
            Interlocked.Decrement(ref _pending);
        }
    }
}
