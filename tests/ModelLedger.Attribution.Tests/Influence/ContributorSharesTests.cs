namespace ModelLedger.Attribution.Influence;

public sealed class ContributorSharesTests
{
    private static RecordOwner Owner(string contributor, int i) => new($"item{i}", contributor);

    [Fact]
    public void From_SumsPerContributor_AndNormalisesThePositiveTotals()
    {
        // By hand: ann 3 + 1 = 4, bob 2 - 1 = 1, cat -5 (no share); positive total 5 → ann 0.8, bob 0.2.
        var owners = new[] { Owner("ann", 0), Owner("bob", 1), Owner("ann", 2), Owner("cat", 3), Owner("bob", 4) };
        var shares = ContributorShares.From(owners, [3, 2, 1, -5, -1]);
        Assert.Equal(["ann", "bob"], shares.Select(s => s.Contributor));
        Assert.Equal(0.8, shares[0].Share, 12);
        Assert.Equal(0.2, shares[1].Share, 12);
        Assert.Equal(1.0, shares.Sum(s => s.Share), 12);
    }

    [Fact]
    public void From_IsEmpty_WhenNothingHelped()
    {
        var shares = ContributorShares.From([Owner("ann", 0), Owner("bob", 1)], [-1, 0]);
        Assert.Empty(shares);
    }
}
