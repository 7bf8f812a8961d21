using ModelLedger.Ledger;
using ModelLedger.Ledger.Log;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Metering;

public sealed class MeteringTests
{
    [Fact]
    public void Meter_DebitsTheCaller_AndRecordsTheSplitInTheOpenEpoch()
    {
        using var w = new RewardsWorkspace();
        w.Fund("user:bob", 10_000);
        // 600 prompt + 400 completion tokens at 1,000 units per 1,000 tokens = 1,000 units.
        var r = w.Meter("inf-1", "user:bob", 600, 400, new() { ["alice"] = 0.75, ["carl"] = 0.25 },
            [new DocumentShare("doc-1", "dora", 1.0, 0.3)], adapter: "ads");
        Assert.Equal((UInt128)1000, r.Fee);
        Assert.Equal(1, r.Epoch);
        Assert.False(r.AlreadyBilled);
        Assert.Equal((UInt128)9000, w.Balance("user:bob"));
        Assert.Equal((UInt128)1000, w.Balance("rewards:escrow"));
        // Training pool 500 → 375 / 125; documents 200; adapter owner (the policy's owner of "ads") 100; treasury 200.
        Assert.Equal(
            [("adapter_owner", "person:olga", 100), ("document", "contributor:dora", 200), ("training",
                "contributor:alice", 375),
             ("training", "contributor:carl", 125), ("treasury", "rewards:treasury", 200)],
            w.Tables.ReadAccruals(1).Select(a => (a.Role, a.Account, (int)a.Amount)).Order());
        using var verifier = NoteVerifierFor(w);
        Assert.True(LedgerVerifier.Verify(w.Workspace.Store, verifier.Key).Ok);
    }

    [Fact]
    public void Meter_BillsARetriedInferenceOnce()
    {
        using var w = new RewardsWorkspace();
        w.Fund("user:bob", 10_000);
        w.Meter("inf-1", "user:bob", 100, 100, new() { ["alice"] = 1.0 });
        long entries = w.Workspace.Service.Size;
        var again = w.Meter("inf-1", "user:bob", 100, 100, new() { ["alice"] = 1.0 });
        Assert.True(again.AlreadyBilled);
        Assert.Equal((UInt128)9800, w.Balance("user:bob"));
        Assert.Equal(entries, w.Workspace.Service.Size);
        Assert.Single(w.Tables.ReadInferences());
        // The same id with different token counts is a different request: refused, nothing billed.
        Assert.Throws<LedgerError>(() => w.Meter("inf-1", "user:bob", 100, 999, new() { ["alice"] = 1.0 }));
        Assert.Equal((UInt128)9800, w.Balance("user:bob"));
    }

    [Fact]
    public void Reserve_RefusesACallerWhoseBalanceCannotCoverTheLongestCompletion()
    {
        using var w = new RewardsWorkspace();
        w.Fund("user:bob", 150);
        // 100 prompt + up to 64 new tokens = 164 units > 150.
        var e = Assert.Throws<UserError>(() => w.Metering.Reserve("user:bob", "tiny", null, 100, 64));
        Assert.Contains("insufficient balance: 'user:bob' has 150", e.Message, StringComparison.Ordinal);
        Assert.Equal((UInt128)150, w.Metering.Reserve("user:bob", "tiny", null, 100, 50).MaxFee);
        Assert.Throws<UserError>(() => w.Metering.Reserve("user:nobody", "tiny", null, 1, 1));
    }

    private sealed class KeyHolder(NoteVerifier key) : IDisposable
    {
        public NoteVerifier Key { get; } = key;
        public void Dispose() { }
    }

    private static KeyHolder NoteVerifierFor(RewardsWorkspace w) => new(NoteVerifier.Parse(w.Workspace.Signer.VerifierKey));
}
