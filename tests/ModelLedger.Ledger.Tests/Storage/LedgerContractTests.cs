using System.Text;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;
using ModelLedger.Testing;

namespace ModelLedger.Ledger.Storage;

/// <summary>One contract, every backend: the same tests run on SQLite and on PostgreSQL.</summary>
public abstract class LedgerContractTests : IDisposable
{
    protected readonly TempDirectory Dir = new();

    /// <summary>A new connection to the same database each call (one per thread, as in production).</summary>
    protected abstract SqlLedgerStore OpenStore();

    public virtual void Dispose() => Dir.Dispose();

    private static readonly string Payload = """{"datanet": "stories", "refs": []}""";

    [Fact]
    public void Appends_AreNumberedFromZero_AndRetriesWithTheSameIdAreNoOps()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        var a = ledger.Append("datanet.created", "alice", Payload, "d1");
        var b = ledger.Append("datanet.created", "alice", """{"datanet": "code"}""", "d2");
        var again = ledger.Append("datanet.created", "alice", Payload, "d1");
        Assert.Equal((0L, 1L), (a.Index, b.Index));
        Assert.Equal(AppendStatus.Exists, again.Status);
        Assert.Equal(a.Index, again.Index);
        var error = Assert.Throws<LedgerError>(() => ledger.Append("datanet.created", "alice", """{"datanet": "other"}""", "d1"));
        Assert.Contains("already exists with different content", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, store.Count());
    }

    [Fact]
    public void Batches_AppendInOneTransaction_AndAFailedBatchLeavesNoTrace()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        var first = ledger.AppendBatch([.. Enumerable.Range(0, 450).Select(i => ("epoch.closed", "x", $$"""{"epoch": {{i}}}""", (string?)$"e{i}"))]);
        Assert.Equal(Enumerable.Range(0, 450).Select(i => (long)i), first.Select(r => r.Index));
        var again = ledger.AppendBatch([("epoch.closed", "x", """{"epoch": 3}""", "e3"), ("epoch.closed", "x", """{"epoch": 999}""", "e999"), ("epoch.closed", "x", """{"epoch": 999}""", "e999")]);
        Assert.Equal([AppendStatus.Exists, AppendStatus.Appended, AppendStatus.Exists], again.Select(r => r.Status));
        Assert.Equal([3L, 450, 450], again.Select(r => r.Index));
        // the second event refs an unknown hash: the whole batch fails, nothing is stored, numbering continues
        Assert.Throws<LedgerError>(() => ledger.AppendBatch([("epoch.closed", "x", """{"epoch": 1000}""", null), ("datanet.snapshot", "x", """{"datanet": "d", "root": "r", "refs": ["00"]}""", null)]));
        Assert.Equal(451, store.Count());
        Assert.Equal(451, ledger.Append("epoch.closed", "x", """{"epoch": 1001}""").Index);
        using var signer = NoteSigner.Create("t");
        Assert.True(LedgerVerifier.Verify(store, NoteVerifier.Parse(signer.VerifierKey)).Ok);
    }

    [Fact]
    public void Leaves_HoldThePayloadTextVerbatim()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        const string payload = """{"contributor":  "bob", "public_key": "k1"}""";
        ledger.Append("contributor.registered", "bob", payload);
        Assert.Contains(payload, store.ReadEntries(0).Single().Leaf, StringComparison.Ordinal);
    }

    [Fact]
    public void Transfers_FollowDoubleEntryRules()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        ledger.CreateAccount("mint", allowNegative: true);
        ledger.CreateAccount("alice", false);
        ledger.CreateAccount("bob", false);
        var max = UInt128.MaxValue;
        ledger.Transfer([new Transfer("t1", "mint", "alice", 100)]);
        Assert.Equal(AppendStatus.Exists, ledger.Transfer([new Transfer("t1", "mint", "alice", 100)])[0].Status);
        Assert.Contains("different content", Assert.Throws<LedgerError>(() => ledger.Transfer([new Transfer("t1", "mint", "alice", 7)])).Message, StringComparison.Ordinal);
        Assert.Contains("would go negative", Assert.Throws<LedgerError>(() => ledger.Transfer([new Transfer("t2", "alice", "bob", 101)])).Message, StringComparison.Ordinal);
        Assert.Contains("unknown account 'carol'", Assert.Throws<LedgerError>(() => ledger.Transfer([new Transfer("t3", "alice", "carol", 1)])).Message, StringComparison.Ordinal);
        // linked: the second fails, so the first must not apply either
        Assert.Throws<LedgerError>(() => ledger.Transfer([new Transfer("t4", "alice", "bob", 60), new Transfer("t5", "alice", "bob", 60)]));
        ledger.Transfer([new Transfer("t6", "mint", "bob", max - 100)]);
        var accounts = store.ReadAccounts().ToDictionary(a => a.Id);
        Assert.Equal(100, (int)accounts["alice"].Balance);
        Assert.Equal(max - 100, accounts["bob"].CreditsPosted);
        Assert.Equal(max, accounts["mint"].DebitsPosted);
        Assert.Equal(accounts.Values.Aggregate(System.Numerics.BigInteger.Zero, (s, a) => s + a.Balance), System.Numerics.BigInteger.Zero);
        Assert.Equal(5, store.Count());   // 3 accounts + t1 + t6: rejected transfers write nothing
    }

    [Fact]
    public async Task ConcurrentWriters_KeepOneGaplessSequence()
    {
        using (var store = OpenStore()) new LedgerService(store).Append("datanet.created", "x", Payload);
        var threads = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            using var store = OpenStore();
            var ledger = new LedgerService(store);
            return Enumerable.Range(0, 25).Select(i => ledger.Append("epoch.closed", $"w{t}", $$"""{"epoch": {{i}}}""", $"w{t}-{i}").Index).ToList();
        })).ToArray();
        var results = await Task.WhenAll(threads);
        var indices = results.SelectMany(r => r).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), indices);
        using var check = OpenStore();
        using var signer = NoteSigner.Create("test");
        Assert.True(LedgerVerifier.Verify(check, NoteVerifier.Parse(signer.VerifierKey)).Ok);
    }

    [Fact]
    public void Verify_NamesTheFirstTamperedEntry()
    {
        using var store = OpenStore();
        using var signer = NoteSigner.Create("example.org/log");
        var ledger = new LedgerService(store);
        for (int i = 0; i < 6; i++) ledger.Append("epoch.closed", "x", $$"""{"epoch": {{i}}}""");
        ledger.Checkpoint(signer, "example.org/log");
        var key = NoteVerifier.Parse(signer.VerifierKey);
        Assert.True(LedgerVerifier.Verify(store, key).Ok);
        store.ExecuteRaw("UPDATE entries SET leaf = REPLACE(leaf, '\"epoch\": 3', '\"epoch\": 4') WHERE idx = 3");
        var report = LedgerVerifier.Verify(store, key);
        Assert.False(report.Ok);
        Assert.Equal(3, report.FirstBadIndex);
    }

    [Fact]
    public void Verify_DetectsABalanceChangedInTheDatabase()
    {
        using var store = OpenStore();
        using var signer = NoteSigner.Create("example.org/log");
        var ledger = new LedgerService(store);
        ledger.CreateAccount("mint", true);
        ledger.CreateAccount("alice", false);
        ledger.Transfer([new Transfer("t1", "mint", "alice", 5)]);
        store.ExecuteRaw("UPDATE accounts SET credits_posted = '500' WHERE id = 'alice'");
        var report = LedgerVerifier.Verify(store, NoteVerifier.Parse(signer.VerifierKey));
        Assert.Equal(["accounts row 'alice': credits_posted is '500', the log says '5' (account.created entry 1)"], report.Problems);
    }

    [Fact]
    public void CheckpointsAndProofs_VerifyAcrossGrowth()
    {
        using var store = OpenStore();
        using var signer = NoteSigner.Create("example.org/log");
        var ledger = new LedgerService(store);
        for (int i = 0; i < 5; i++) ledger.Append("epoch.closed", "x", $$"""{"epoch": {{i}}}""");
        var first = Checkpoint.Parse(NoteFormat.Verify(Encoding.UTF8.GetBytes(ledger.Checkpoint(signer, "example.org/log")), [NoteVerifier.Parse(signer.VerifierKey)]).Text!);
        for (int i = 5; i < 13; i++) ledger.Append("epoch.closed", "x", $$"""{"epoch": {{i}}}""");
        var (path, fromRoot, toRoot) = ledger.Consistency(5, 13);
        Assert.Equal(first.Root, fromRoot);
        Assert.True(ProofVerifier.VerifyConsistency(5, 13, path, first.Root, toRoot));
        var (leaf, audit, root) = ledger.Prove(2, 13);
        Assert.True(ProofVerifier.VerifyInclusion(2, 13, leaf, audit, root));
        Assert.Throws<LedgerError>(() => ledger.Prove(13, 13));
        Assert.Throws<LedgerError>(() => ledger.Prove(0, 14));
    }

    [Fact]
    public void Refs_MustNameEarlierEntries()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        var contribution = ledger.Append("contribution.accepted", "bob", """{"datanet": "d", "contributor": "bob", "content_hash": "ab"}""");
        var snapshot = ledger.Append("datanet.snapshot", "curator", $$"""{"datanet": "d", "root": "cd", "refs": ["{{contribution.LeafHash}}"]}""");
        Assert.Equal(contribution.Index, ledger.IndexOf(ledger.Read(snapshot.Index).Entry.Refs[0]));
        Assert.Throws<LedgerError>(() => ledger.Append("datanet.snapshot", "curator", """{"datanet": "d", "root": "cd", "refs": ["00"]}"""));
        Assert.Contains("unknown event type", Assert.Throws<LedgerError>(() => ledger.Append("nonsense", "x", "{}")).Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", Assert.Throws<LedgerError>(() => ledger.Append("epoch.closed", "x", "{epoch")).Message, StringComparison.Ordinal);
    }
}

public sealed class SqliteLedgerContractTests : LedgerContractTests
{
    protected override SqlLedgerStore OpenStore() => SqlLedgerStore.OpenSqlite(Dir.File("ledger.db"));
}

public sealed class PostgresFixture : IDisposable
{
    public PostgresServer Server { get; } = new();
    public void Dispose() => Server.Dispose();
}

public sealed class PostgresLedgerContractTests(PostgresFixture postgres) : LedgerContractTests, IClassFixture<PostgresFixture>
{
    private readonly string _connection = postgres.Server.CreateDatabase();

    protected override SqlLedgerStore OpenStore() => SqlLedgerStore.OpenPostgres(_connection);
}
