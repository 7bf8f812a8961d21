namespace ModelLedger.Rewards.Policy;

public sealed class FeeSplitTests
{
    private static FeePolicy WithSplit(SplitBps split) => RewardsWorkspace.Policy() with { Split = split };

    [Fact]
    public void Split_SumsExactlyToTheFee_OnRandomPoliciesAndFees()
    {
        var rng = new Random(1234);
        for (int trial = 0; trial < 3000; trial++)
        {
            var cuts = new[] { rng.Next(10_001), rng.Next(10_001), rng.Next(10_001) }.Order().ToArray();
            var split = new SplitBps(cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], 10_000 - cuts[2]);
            UInt128 fee = trial % 3 == 0 ? (UInt128)rng.Next(0,
                50) : trial % 3 == 1 ? (UInt128)rng.NextInt64() : new UInt128((ulong)rng.NextInt64(),
                    (ulong)rng.NextInt64());
            var training = RandomShares(rng, rng.Next(0, 6)).Select((s, i) => ($"c{i}", s)).ToDictionary(x => x.Item1,
                x => x.s);
            var documents = RandomShares(rng, rng.Next(0, 4)).Select((s, i) => new DocumentShare($"d{i}", $"o{i % 2}",
                s, rng.NextDouble())).ToList();
            var slices = FeeSplit.Split(WithSplit(split), fee, rng.Next(2) == 0 ? null : "person:olga", training,
                documents);
            var total = slices.Aggregate(UInt128.Zero, (s, a) => s + a.Amount);
            Assert.Equal(fee, total);
            Assert.All(slices, a => Assert.True(a.Amount > 0));
        }
    }

    private static double[] RandomShares(Random rng, int n)
    {
        var raw = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
        var sum = raw.Sum();
        return raw.Select(r => r / sum).ToArray();
    }

    [Fact]
    public void Split_FloorsEachRecipient_AndGivesTheRemainderToTheNamedAccount()
    {
        // Worked by hand: fee 100, training pool 50 % = 50 over three equal shares. Each share 1/3 becomes weight
        // 333,333,333 of 999,999,999, so each gets floor(50 / 3) = 16 (48 in all). Documents 20 = 20 to the one owner;
        // adapter 10 % = 10; treasury 20 % = 20. Paid 98; the remainder 2 goes to the remainder account.
        var policy = RewardsWorkspace.Policy() with { RemainderAccount = "rewards:dust" };
        var third = 1.0 / 3;
        var slices = FeeSplit.Split(policy, 100, "person:olga", new Dictionary<string, double> { ["a"] = third,
            ["b"] = third, ["c"] = third },
            [new DocumentShare("doc1", "dora", 1.0, 0.5)]);
        Assert.Equal(
            [(Role.Training, "contributor:a", 16), (Role.Training, "contributor:b", 16), (Role.Training,
                "contributor:c", 16),
             (Role.Document, "contributor:dora", 20), (Role.AdapterOwner, "person:olga", 10), (Role.Treasury,
                 "rewards:treasury", 20),
             (Role.Remainder, "rewards:dust", 2)],
            slices.Select(s => (s.Role, s.Account, (int)s.Amount)));
    }

    [Fact]
    public void Split_GivesAPoolWithoutRecipientsToTheRemainder()
    {
        // No attribution and no adapter owner: only the treasury's 20 % of 1,000 is named; the other 800 is remainder.
        var slices = FeeSplit.Split(RewardsWorkspace.Policy(), 1000, null, new Dictionary<string, double>(), []);
        Assert.Equal([(Role.Treasury, 200), (Role.Remainder, 800)], slices.Select(s => (s.Role, (int)s.Amount)));
    }

    [Fact]
    public void Slice_DoesNotOverflow_AtTheLargestAmount()
    {
        // floor((2^128 - 1) × 9,999 / 10,000) = (2^128 - 1) - ceil((2^128 - 1) / 10,000), from exact big-integer arithmetic.
        var max = UInt128.MaxValue;
        var expected = (UInt128)(((System.Numerics.BigInteger)max * 9999) / 10000);
        Assert.Equal(expected, FeeSplit.Slice(max, 9999));
    }

    [Fact]
    public void Fee_PricesPer1000Tokens_AndRoundsUp()
    {
        // 150 prompt tokens at 10 per 1,000 and 10 completion tokens at 30 per 1,000: 1.5 + 0.3 = 1.8 units → 2.
        var policy = RewardsWorkspace.Policy() with { Default = new Price(10, 30) };
        Assert.Equal((UInt128)2, policy.Fee("m", null, 150, 10));
        Assert.Equal((UInt128)3, policy.Fee("m", null, 300, 0));   // exactly 3.0: no rounding
        Assert.Equal((UInt128)2000, RewardsWorkspace.Policy().Fee("m", "ads", 1500, 500));   // the adapter's own entry
    }
}
