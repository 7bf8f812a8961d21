namespace ModelLedger.Engine.Runtime;

/// <summary>
/// Samples <see cref="HeapStatistics"/> on a background thread and keeps the sample with the most live malloc bytes
/// and the one with the most resident bytes since the last <see cref="TakeWindow"/>: what was live at the peak, and
/// what was freed but kept. A diagnostic (MLEDGER_HEAP_TRACE); mallinfo2 takes every arena's lock while it counts.
/// </summary>
public sealed class HeapSampler : IDisposable
{
    private readonly Thread _thread;
    private readonly int _periodMs;
    private readonly Lock _gate = new();
    private volatile bool _stop;
    private HeapStatistics? _mostLive, _mostResident;

    public HeapSampler(int periodMs)
    {
        _periodMs = Math.Max(1, periodMs);
        _thread = new Thread(Loop) { IsBackground = true, Name = "heap sampler" };
        _thread.Start();
    }

    /// <summary>The environment variable: a sampling period in milliseconds.</summary>
    public const string Variable = "MLEDGER_HEAP_TRACE";

    /// <summary>A sampler when <c>MLEDGER_HEAP_TRACE</c> holds a period in ms and mallinfo2 is there, else null.
    /// </summary>
    public static HeapSampler? FromEnvironment() =>
        int.TryParse(Environment.GetEnvironmentVariable(Variable), out int ms) && ms > 0
        && HeapStatistics.Read() is not null ? new HeapSampler(ms) : null;

    private void Loop()
    {
        while (!_stop)
        {
            Sample();
            Thread.Sleep(_periodMs);
        }
    }

    /// <summary>Takes one sample now (also called by the thread).</summary>
    public void Sample()
    {
        if (HeapStatistics.Read() is not { } s) return;
        lock (_gate)
        {
            if (_mostLive is not { } l || s.LiveBytes > l.LiveBytes) _mostLive = s;
            if (_mostResident is not { } r || s.ResidentBytes > r.ResidentBytes) _mostResident = s;
        }
    }

    /// <summary>The samples with the most live and the most resident bytes since the last call; starts a new window.
    /// </summary>
    public (HeapStatistics? MostLive, HeapStatistics? MostResident) TakeWindow()
    {
        Sample();
        lock (_gate)
        {
            var window = (_mostLive, _mostResident);
            (_mostLive, _mostResident) = (null, null);
            return window;
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
