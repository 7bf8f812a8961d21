using ModelLedger.Datanets.Contributors;
using NSec.Cryptography;

namespace ModelLedger.Datanets.Intake;

/// <summary>
/// The per-record work that does not depend on what is already accepted — the signature check and the text
/// <see cref="Analysis"/> — run on one worker thread per core, chunk by chunk in submission order, ahead of the
/// ordered consumer that decides, so deciding and writing the ledger overlap with checking later records. The
/// consumer reads record i with <see cref="Get"/>, which waits until i's chunk is done (and rethrows a worker's
/// failure). One consumer thread; dispose to stop the workers.
/// </summary>
internal sealed class RecordChecks : IDisposable
{
    private const int ChunkSize = 256;
    private readonly IReadOnlyList<Contribution> _contributions;
    private readonly IReadOnlyDictionary<string, PublicKey> _keys;
    private readonly string _datanet;
    private readonly IntakeProfile? _profile;
    private readonly bool[] _signed;
    private readonly Analysis?[] _analyses;
    private readonly ManualResetEventSlim[] _done;
    private readonly Thread[] _workers;
    private int _nextChunk;
    private volatile bool _stop;
    private Exception? _failure;

    public RecordChecks(IReadOnlyList<Contribution> contributions, IReadOnlyDictionary<string, PublicKey> keys,
        string datanet, IntakeProfile? profile = null)
    {
        (_contributions, _keys, _datanet, _profile) = (contributions, keys, datanet, profile);
        _signed = new bool[contributions.Count];
        _analyses = new Analysis?[contributions.Count];
        _done = Enumerable.Range(0, (contributions.Count + ChunkSize - 1) / ChunkSize)
            .Select(_ => new ManualResetEventSlim()).ToArray();
        _workers = Enumerable.Range(0, Math.Min(Environment.ProcessorCount, Math.Max(1, _done.Length)))
            .Select(_ => new Thread(Work) { IsBackground = true, Name = "intake checks" }).ToArray();
        foreach (var w in _workers) w.Start();
    }

    /// <summary>Whether record i's signature verifies with its contributor's registered key, and its analysis.
    /// The analysis is handed over once: a second call for the same record is not supported.</summary>
    public (bool Signed, Analysis Analysis) Get(int i)
    {
        var done = _done[i / ChunkSize];
        if (_profile is not null && !done.IsSet)
        {
            var waiting = IntakeProfile.Mark.Now();
            done.Wait();
            _profile.Add(IntakeStage.WaitForChecks, waiting);
        }
        done.Wait();
        if (_failure is not null) throw new AggregateException("checking the submission's records failed", _failure);
        return (_signed[i], _analyses[i]!);
    }

    private void Work()
    {
        int chunk;
        while (!_stop && (chunk = Interlocked.Increment(ref _nextChunk) - 1) < _done.Length)
        {
            try
            {
                int end = Math.Min(_contributions.Count, (chunk + 1) * ChunkSize);
                if (_profile is null)
                    for (int i = chunk * ChunkSize; i < end && !_stop; i++) Check(i);
                else
                    Profiled(chunk * ChunkSize, end, _profile);
            }
            catch (Exception e)
            {
                _failure ??= e;
                _stop = true;
            }
            finally { _done[chunk].Set(); }
        }
        if (_stop) foreach (var d in _done) d.Set();   // wake a consumer waiting on a chunk nobody will finish
    }

    private void Check(int i)
    {
        Verify(i);
        _analyses[i] = Analysis.Of(_contributions[i].Record);
    }

    private void Verify(int i)
    {
        var c = _contributions[i];
        _signed[i] = _keys.TryGetValue(c.Contributor, out var key)
            && ContributorKey.Verify(key, _datanet, c.Record.ContentHash, c.Signature);
    }

    /// <summary><see cref="Check"/> over records [start, end) with the two stages timed apart.</summary>
    private void Profiled(int start, int end, IntakeProfile profile)
    {
        IntakeProfile.Mark verify = default, analyse = default;
        var mark = IntakeProfile.Mark.Now();
        for (int i = start; i < end && !_stop; i++)
        {
            Verify(i);
            var verified = IntakeProfile.Mark.Now();
            _analyses[i] = Analysis.Of(_contributions[i].Record);
            var analysed = IntakeProfile.Mark.Now();
            verify = Plus(verify, mark, verified);
            analyse = Plus(analyse, verified, analysed);
            mark = analysed;
        }
        profile.Add(IntakeStage.VerifySignature, verify.CpuNs, verify.WallTicks, verify.Bytes);
        profile.Add(IntakeStage.AnalyseText, analyse.CpuNs, analyse.WallTicks, analyse.Bytes);
    }

    /// <summary><paramref name="sum"/> plus the span from <paramref name="from"/> to <paramref name="to"/>.</summary>
    private static IntakeProfile.Mark Plus(IntakeProfile.Mark sum, IntakeProfile.Mark from, IntakeProfile.Mark to)
    {
        return new(sum.CpuNs + to.CpuNs - from.CpuNs, sum.WallTicks + to.WallTicks - from.WallTicks,
            sum.Bytes + to.Bytes - from.Bytes);
    }

    public void Dispose()
    {
        _stop = true;
        foreach (var w in _workers) w.Join();
        foreach (var d in _done) d.Dispose();
    }
}
