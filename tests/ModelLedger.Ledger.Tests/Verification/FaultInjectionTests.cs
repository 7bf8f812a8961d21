using ModelLedger.Testing;

namespace ModelLedger.Ledger.Verification;

public sealed class FaultInjectionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A few hundred random mutations of a SQLite ledger: verify flags every one that changes what the
    /// database holds (the oracle is a typed dump of every table before and after, independent of verify), passes
    /// every database left unchanged, never throws, and leaves the file as it found it. `mledger bench ledger
    /// --fault-injection N` runs thousands.</summary>
    [Fact]
    public void Verify_FlagsEveryMutationThatChangesAFact()
    {
        var report = FaultInjection.Run(_dir.Path, mutations: 250, seed: 9);
        Assert.Empty(report.Crashes);
        Assert.Empty(report.Wrote);
        Assert.Empty(report.FalseAlarms);
        Assert.Empty(report.Missed);
        // the run exercised every kind of mutation, and most of them changed something
        Assert.Equal(["delete row", "drop table", "duplicate row", "edit cell", "swap rows"], report.Kinds.Keys.Where(k => k != "empty table"));
        Assert.True(report.Kinds.Values.Sum(k => k.Flagged) >= 120, $"only {report.Kinds.Values.Sum(k => k.Flagged)} mutations were flagged");
    }

    [Fact]
    public void Dump_SeesASingleCellEdit()
    {
        // the oracle itself must see the smallest change: one character of one leaf
        var report = FaultInjection.Run(_dir.Path, mutations: 0, seed: 1);
        Assert.True(report.Ok);
        var seed = Path.Combine(_dir.Path, "seed.db");
        var before = FaultInjection.Dump(seed);
        using (var db = FaultInjection.Open(seed)) FaultInjection.Execute(db, "UPDATE entries SET leaf = REPLACE(leaf, '\"epoch\":1', '\"epoch\":2') WHERE idx = 5");
        Assert.NotEqual(before, FaultInjection.Dump(seed));
    }
}
