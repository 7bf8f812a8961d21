using System.Text;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Log;
using ModelLedger.Testing;

namespace ModelLedger.Ledger.Storage;

/// <summary>Issue 9's ledger-integrity cases, on every backend: nothing in the database changes without verify naming
/// it, no id applies twice, and every refused operation writes nothing.</summary>
public abstract class LedgerIntegrityTests : IDisposable
{
    protected readonly TempDirectory Dir = new();
    private readonly NoteSigner _signer = NoteSigner.Create("example.org/log");

    protected abstract SqlLedgerStore OpenStore();

    public virtual void Dispose()
    {
        _signer.Dispose();
        Dir.Dispose();
    }

    private VerifyReport Verify(SqlLedgerStore store) => LedgerVerifier.Verify(store, NoteVerifier.Parse(_signer.VerifierKey));

    /// <summary>mint (may go negative), alice, bob; t1 mint→alice 100, t2 alice→bob 30; one plain event with an id.</summary>
    private LedgerService Seed(SqlLedgerStore store)
    {
        var ledger = new LedgerService(store);
        ledger.CreateAccount("mint", allowNegative: true);
        ledger.CreateAccount("alice", false);
        ledger.CreateAccount("bob", false);
        ledger.Transfer([new Transfer("t1", "mint", "alice", 100)]);
        ledger.Transfer([new Transfer("t2", "alice", "bob", 30)]);
        ledger.Append("datanet.created", "x", """{"datanet":"d"}""", "d1");
        Assert.True(Verify(store).Ok);
        return ledger;
    }

    [Fact]
    public void Payload_WithSurroundingWhitespace_IsStoredCanonically_AndVerifies()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        var r = ledger.Append("datanet.created", "x", " {\"datanet\":\"a\"}\n");
        Assert.Equal(AppendStatus.Appended, r.Status);
        // The canonical leaf, worked out by hand from docs/ledger.md: the payload text without the whitespace.
        Assert.EndsWith(""","payload":{"datanet":"a"}}""", store.ReadEntries(0).Single().Leaf, StringComparison.Ordinal);
        Assert.True(Verify(store).Ok);
    }

    [Theory]
    [InlineData("""{"datanet":"a","datanet":"b"}""", "duplicate key")]
    [InlineData("""{"datanet":"a","meta":{"k":1,"k":2}}""", "duplicate key")]
    [InlineData("""{"datanet":"a","refs":"x"}""", "refs must be an array")]
    [InlineData("""{"datanet":"a","refs":["00"]}""", "not a lower-case hex")]
    [InlineData("[1]", "must be a JSON object")]
    [InlineData("{}", "lacks datanet")]
    [InlineData("{oops", "not valid JSON")]
    public void RefusedPayloads_WriteNothing(string payload, string reason)
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        var r = ledger.Submit("datanet.created", "x", payload);
        Assert.Equal(AppendStatus.Rejected, r.Status);
        Assert.Contains(reason, r.Reason, StringComparison.Ordinal);
        Assert.Equal(0, store.Count());
    }

    [Theory]
    [InlineData("""{"inference":"i1","method":"m","scores":{"a":0.25,"b":0.75}}""", null)]
    [InlineData("""{"inference":"i1","method":"m","scores":{}}""", null)]
    [InlineData("""{"inference":"i1","method":"m","scores":{"a":0.5,"b":0.6}}""", "sum to 1")]
    [InlineData("""{"inference":"i1","method":"m","scores":{"a":1.5,"b":-0.5}}""", "non-negative")]
    [InlineData("""{"inference":"i1","method":"m","scores":{"a":"1"}}""", "non-negative number")]
    [InlineData("""{"inference":"i1","method":"m","scores":[1]}""", "must be an object")]
    public void Attribution_ScoresAreSharesSummingToOne(string payload, string? reason)
    {
        using var store = OpenStore();
        var r = new LedgerService(store).Submit("attribution", "x", payload);
        if (reason is null) Assert.Equal(AppendStatus.Appended, r.Status);
        else
        {
            Assert.Equal(AppendStatus.Rejected, r.Status);
            Assert.Contains(reason, r.Reason, StringComparison.Ordinal);
            Assert.Equal(0, store.Count());
        }
    }

    [Fact]
    public void Verify_FlagsAnAttributionWrittenPastTheLedger()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        ledger.Append("attribution", "x", """{"inference":"i1","method":"m","scores":{"a":0.5,"b":0.5}}""");
        // Rewrite the stored bytes and their hash column together, as someone with database access could.
        var forged = store.ReadEntries(0).Single().Leaf.Replace("\"b\":0.5", "\"b\":0.7", StringComparison.Ordinal);
        store.ExecuteRaw("UPDATE entries SET leaf = @l, leaf_hash = @h WHERE idx = 0", ("l", forged), ("h", LedgerService.Hex(MerkleHash.Leaf(Encoding.UTF8.GetBytes(forged)))));
        var report = Verify(store);
        Assert.Equal(0, report.FirstBadIndex);
        Assert.Contains("sum to 1", report.Problems[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DELETE FROM transfers WHERE id = 't1'", "transfers row 't1' is missing (made by transfer entry 3)")]
    [InlineData("DELETE FROM transfers", "transfers row 't1' is missing (made by transfer entry 3)")]
    [InlineData("UPDATE transfers SET amount = '7' WHERE id = 't1'", "transfers row 't1': amount is '7', the log says '100' (transfer entry 3)")]
    [InlineData("UPDATE transfers SET entry_idx = 4 WHERE id = 't1'", "transfers row 't1': entry_idx is 4, the log says 3 (transfer entry 3)")]
    [InlineData("INSERT INTO transfers VALUES ('t9', 'mint', 'bob', '5', 5)", "transfers row 't9' is stored but no transfer entry in the log made it")]
    [InlineData("UPDATE accounts SET allow_negative = 1 WHERE id = 'alice'", "accounts row 'alice': allow_negative is 1, the log says 0 (account.created entry 1)")]
    [InlineData("UPDATE accounts SET debits_posted = 'lots' WHERE id = 'alice'", "accounts row 'alice': debits_posted is 'lots', the log says '30' (account.created entry 1)")]
    [InlineData("DELETE FROM accounts WHERE id = 'bob'", "accounts row 'bob' is missing (made by account.created entry 2)")]
    [InlineData("UPDATE entries SET type = 'epoch.closed' WHERE idx = 5", "entry 5: type column is 'epoch.closed', the entry's bytes say 'datanet.created'")]
    [InlineData("UPDATE entries SET client_id = 'd2' WHERE idx = 5", "entry 5: client_id column is 'd2', the entry's bytes say 'd1'")]
    [InlineData("UPDATE entries SET client_id = NULL WHERE idx = 5", "entry 5: client_id column is NULL, the entry's bytes say 'd1'")]
    [InlineData("UPDATE entries SET leaf_hash = 'ab' WHERE idx = 2", "entry 2: leaf_hash column is 'ab', the entry's bytes hash to ")]
    public void Verify_ReDerivesEveryTable_AndNamesTheDifference(string tamper, string problem)
    {
        using var store = OpenStore();
        Seed(store);
        Assert.True(store.ExecuteRaw(tamper) > 0);
        var report = Verify(store);
        Assert.False(report.Ok);
        Assert.StartsWith(problem, report.Problems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_NamesACheckpointWhoseSizeColumnWasEdited_AndAForeignKey()
    {
        using var store = OpenStore();
        var ledger = Seed(store);
        ledger.Checkpoint(_signer, "example.org/log");
        store.ExecuteRaw("UPDATE checkpoints SET size = 3");
        Assert.Equal(["checkpoint row 3: the size column is 3 but the note signs size 6"], Verify(store).Problems);
        using var other = NoteSigner.Create("example.org/other");
        store.ExecuteRaw("DELETE FROM checkpoints");
        new LedgerService(store).Checkpoint(other, "example.org/other");
        var key = NoteVerifier.Parse(_signer.VerifierKey);
        Assert.Equal([$"checkpoint row 6: not signed by this log's key (expected example.org/log+{key.KeyId:x8}; signed by example.org/other+{other.KeyId:x8})"],
            Verify(store).Problems);
    }

    [Fact]
    public void Verify_LocatesRewrittenAndSwappedEntries_BetweenCheckpoints()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        for (int i = 0; i < 8; i++)
        {
            ledger.Append("epoch.closed", "x", $$"""{"epoch":{{i}}}""");
            if (i is 2 or 3 or 7) ledger.Checkpoint(_signer, "example.org/log");   // sizes 3, 4 and 8
        }
        // entry 3 rewritten together with its hash column: only the signed roots can tell, and sizes 3 and 4 pin it
        var forged = store.ReadEntries(3).First().Leaf.Replace("\"epoch\":3", "\"epoch\":33", StringComparison.Ordinal);
        store.ExecuteRaw("UPDATE entries SET leaf = @l, leaf_hash = @h WHERE idx = 3", ("l", forged), ("h", LedgerService.Hex(MerkleHash.Leaf(Encoding.UTF8.GetBytes(forged)))));
        var report = Verify(store);
        Assert.Equal((3L, 3L), (report.FirstBadIndex, report.FirstBadLast));
    }

    [Fact]
    public void Verify_BoundsSwappedRows_ByTheCheckpointsAroundThem()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        for (int i = 0; i < 8; i++)
        {
            ledger.Append("epoch.closed", "x", $$"""{"epoch":{{i}}}""");
            if (i is 3 or 7) ledger.Checkpoint(_signer, "example.org/log");   // sizes 4 and 8
        }
        // whole rows 5 and 6 swapped: every row agrees with itself; the root at 8 differs, the root at 4 still matches
        store.ExecuteRaw("UPDATE entries SET idx = -1 WHERE idx = 5");
        store.ExecuteRaw("UPDATE entries SET idx = 5 WHERE idx = 6");
        store.ExecuteRaw("UPDATE entries SET idx = 6 WHERE idx = -1");
        var report = Verify(store);
        Assert.Equal((4L, 7L), (report.FirstBadIndex, report.FirstBadLast));
        Assert.Equal(["checkpoint row 8: the stored entries 0..7 do not hash to the signed root"], report.Problems);
    }

    [Fact]
    public void Idempotency_AnswersFromTheLog_NotFromAnEditedRow()
    {
        using var store = OpenStore();
        var ledger = Seed(store);
        store.ExecuteRaw("UPDATE transfers SET amount = '7' WHERE id = 't1'");
        // the genuine retry (the log says 100) is answered "exists"; the forged one is a conflict
        Assert.Equal(AppendStatus.Exists, ledger.SubmitTransfers([new Transfer("t1", "mint", "alice", 100)])[0].Status);
        Assert.Equal(AppendStatus.ExistsWithDifferentContent, ledger.SubmitTransfers([new Transfer("t1", "mint", "alice", 7)])[0].Status);
        store.ExecuteRaw("UPDATE accounts SET allow_negative = 1 WHERE id = 'alice'");
        Assert.Equal(AppendStatus.Exists, ledger.SubmitAccount("alice", false).Status);
        // the flag that counts is the logged one: alice (70 left) still cannot go negative
        var overdraw = ledger.SubmitTransfers([new Transfer("t3", "alice", "bob", 1000)])[0];
        Assert.Equal("transfer 't3': account 'alice' would go negative", overdraw.Reason);
        Assert.Equal(6, store.Count());
    }

    [Fact]
    public void Refs_ResolveAgainstTheLogBytes_NotAnEditedHashColumn()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        var genuine = ledger.Append("contribution.accepted", "bob", """{"datanet":"d","contributor":"bob","content_hash":"ab"}""");
        var fake = new string('e', 64);
        store.ExecuteRaw("UPDATE entries SET leaf_hash = @h WHERE idx = 0", ("h", fake));
        var r = new LedgerService(store).Submit("datanet.snapshot", "c", $$"""{"datanet":"d","root":"cd","refs":["{{fake}}"]}""");
        Assert.Equal(AppendStatus.Rejected, r.Status);
        Assert.Contains("is not the leaf hash of an earlier entry", r.Reason, StringComparison.Ordinal);
        Assert.Equal(1, store.Count());
        Assert.NotEqual(fake, genuine.LeafHash);
    }

    [Fact]
    public void ClientIds_AccountIds_AndTransferIds_AreSeparateNamespaces()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        Assert.Equal(AppendStatus.Appended, ledger.Append("datanet.created", "x", """{"datanet":"a"}""", "transfer:t99").Status);
        Assert.Equal(AppendStatus.Appended, ledger.Append("datanet.created", "x", """{"datanet":"b"}""", "account:eve").Status);
        Assert.Equal(AppendStatus.Appended, ledger.Append("datanet.created", "x", """{"datanet":"c"}""", "eve").Status);
        Assert.Equal(AppendStatus.Appended, ledger.CreateAccount("eve", true).Status);
        Assert.Equal(AppendStatus.Appended, ledger.CreateAccount("t99", false).Status);
        Assert.Equal(AppendStatus.Appended, ledger.Transfer([new Transfer("t99", "eve", "t99", 5)])[0].Status);
        Assert.Equal(AppendStatus.Appended, ledger.Transfer([new Transfer("eve", "eve", "t99", 5)])[0].Status);
        Assert.True(Verify(store).Ok);
    }

    /// <summary>Issue 18 item 4: each refused account or transfer operation writes no entry and changes no balance.</summary>
    [Fact]
    public void RefusedAccountOperations_WriteNothing()
    {
        using var store = OpenStore();
        var ledger = new LedgerService(store);
        ledger.CreateAccount("mint", true);
        ledger.CreateAccount("a", false);
        ledger.CreateAccount("m2", true);
        ledger.Transfer([new Transfer("max", "mint", "a", UInt128.MaxValue)]);
        var before = (store.Count(), string.Join(";", store.ReadAccounts()));
        var cases = new (Func<AppendResult> Act, AppendStatus Status, string Reason)[]
        {
            (() => ledger.Submit("nonsense", "x", "{}"), AppendStatus.Rejected, "unknown event type 'nonsense'"),
            (() => ledger.Submit("datanet.created", "x", """{"name":"d"}"""), AppendStatus.Rejected, "payload for datanet.created lacks datanet"),
            (() => ledger.Submit("datanet.created", "x", "\"d\""), AppendStatus.Rejected, "payload must be a JSON object"),
            (() => ledger.Submit("transfer", "x", """{"id":"t","debit":"a","credit":"mint","amount":"1"}"""), AppendStatus.Rejected, "transfer entries are written by"),
            (() => ledger.SubmitTransfers([new Transfer("s", "a", "a", 1)])[0], AppendStatus.Rejected, "transfer 's': debit and credit are the same account"),
            (() => ledger.SubmitTransfers([new Transfer("z", "mint", "a", 0)])[0], AppendStatus.Rejected, "transfer 'z': amount must be positive"),
            (() => ledger.SubmitTransfers([new Transfer("o", "mint", "a", 1)])[0], AppendStatus.Rejected,
                "transfer 'o': the debits of account 'mint' would exceed 2^128-1 (debits posted 340282366920938463463374607431768211455, amount 1)"),
            (() => ledger.SubmitTransfers([new Transfer("o2", "a", "mint", 1), new Transfer("o3", "m2", "a", 1)])[1], AppendStatus.Rejected,
                "transfer 'o3': the credits of account 'a' would exceed 2^128-1 (credits posted 340282366920938463463374607431768211455, amount 1); no transfer of the batch was applied"),
            (() => ledger.SubmitTransfers([new Transfer("max", "mint", "a", 1)])[0], AppendStatus.ExistsWithDifferentContent, "transfer 'max': already exists with different content"),
            (() => ledger.SubmitAccount("a", true), AppendStatus.ExistsWithDifferentContent, "account 'a' already exists with allow_negative false (entry 1)"),
            (() => ledger.SubmitAccount("", true), AppendStatus.Rejected, "account id '' must be 1..200 printable characters"),
        };
        foreach (var (act, status, reason) in cases)
        {
            var r = act();
            Assert.Equal(status, r.Status);
            Assert.StartsWith(reason, r.Reason, StringComparison.Ordinal);
            Assert.Equal(before, (store.Count(), string.Join(";", store.ReadAccounts())));
        }
        Assert.True(Verify(store).Ok);
    }

    [Fact]
    public void Verify_NeverWrites_AndReportsAMissingTable()
    {
        using (var store = OpenStore())
        {
            Seed(store);
            store.ExecuteRaw("DROP TABLE transfers");
        }
        using var reopened = Reopen();
        var report = Verify(reopened);
        Assert.Contains(report.Problems, p => p.StartsWith("table transfers cannot be read", StringComparison.Ordinal));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => reopened.ExecuteRaw("SELECT 1 FROM transfers"));   // not re-created
    }

    /// <summary>The same database opened the way a workspace and verify open it: no schema is created.</summary>
    protected abstract SqlLedgerStore Reopen();
}

public sealed class SqliteLedgerIntegrityTests : LedgerIntegrityTests
{
    protected override SqlLedgerStore OpenStore() => SqlLedgerStore.OpenSqlite(Dir.File("ledger.db"));
    protected override SqlLedgerStore Reopen() => SqlLedgerStore.OpenSqlite(Dir.File("ledger.db"), createSchema: false);
}

public sealed class PostgresLedgerIntegrityTests(PostgresFixture postgres) : LedgerIntegrityTests, IClassFixture<PostgresFixture>
{
    private readonly string _connection = postgres.Server.CreateDatabase();

    protected override SqlLedgerStore OpenStore() => SqlLedgerStore.OpenPostgres(_connection);
    protected override SqlLedgerStore Reopen() => SqlLedgerStore.OpenPostgres(_connection, createSchema: false);
}
