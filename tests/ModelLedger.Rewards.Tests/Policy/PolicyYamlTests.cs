using ModelLedger.Testing;

namespace ModelLedger.Rewards.Policy;

public sealed class PolicyYamlTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string yaml)
    {
        var path = _dir.File("policy.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private const string Valid = """
        version: 1
        treasury_account: rewards:treasury
        prices:
          default: {prompt: 10, completion: 30}
          models:
            TinyStories-656K: {prompt: 5, completion: 15}
          adapters:
            ads: {prompt: 20, completion: 60, owner: "person:olga"}
        split_bps:
          training: 5000
          documents: 2000
          adapter_owner: 1000
          treasury: 2000
        rules:
          min_quality: 0.5
          group_cap_bps: 2500
          rate_limit: {max_contributions: 50, window_seconds: 3600}
          answer_min_support: 0.34
          hub_ratio: 4
          max_refused_share: 0.5
          wash_trading_share: 0.6
          sybil_min_identities: 3
          hub_baseline: owners
        """;

    [Fact]
    public void Load_ReadsEveryField()
    {
        var p = PolicyYaml.Load(Write(Valid));
        Assert.Equal(new Price(10, 30), p.Default);
        Assert.Equal(new Price(20, 60, "person:olga"), p.Adapters["ads"]);
        Assert.Equal(new Price(5, 15), p.PriceFor("TinyStories-656K", null));
        Assert.Equal(new SplitBps(5000, 2000, 1000, 2000), p.Split);
        Assert.Equal(("rewards:treasury", "rewards:treasury", "rewards:escrow"), (p.TreasuryAccount,
            p.RemainderAccount, p.EscrowAccount));
        Assert.Equal(new RuleSettings(true, true, 0.0, 0.5, 2500, new RateLimit(50, 3600), 0.34, 4, 0.5, 0.6, 3,
            HubBaseline.Owners),
            p.Rules);
    }

    [Fact]
    public void Json_WithoutTheSupportAndHubKeys_ReadsThemAsOff()
    {
        // A policy recorded before answer_min_support and hub_ratio existed: both rules off, and written back
        // byte-identical (the keys are only written when set).
        var old = PolicyJson.Write(PolicyYaml.Load(Write(Valid.Replace("\n  answer_min_support: 0.34",
            "", StringComparison.Ordinal).Replace("\n  hub_ratio: 4", "", StringComparison.Ordinal))));
        Assert.DoesNotContain("hub_ratio", old, StringComparison.Ordinal);
        using var doc = System.Text.Json.JsonDocument.Parse(old);
        var read = PolicyJson.Read(doc.RootElement);
        Assert.Equal((null, null), (read.Rules.MinSupport, read.Rules.HubRatio));
        Assert.Equal(old, PolicyJson.Write(read));
    }

    [Fact]
    public void Load_RefusesASybilMinimumBelowTwo()
    {
        // One identity alone is never a cluster: 1 is out of range (the key is on line 22 of the file above).
        var path = Write(Valid.Replace("sybil_min_identities: 3", "sybil_min_identities: 1", StringComparison.Ordinal));
        var e = Assert.Throws<UserError>(() => PolicyYaml.Load(path));
        Assert.Equal((22, "rules.sybil_min_identities"), (e.Line, e.Field));
    }

    [Fact]
    public void Load_RefusesAnUnknownHubBaseline()
    {
        var path = Write(Valid.Replace("hub_baseline: owners", "hub_baseline: everyone", StringComparison.Ordinal));
        var e = Assert.Throws<UserError>(() => PolicyYaml.Load(path));
        Assert.Equal((23, "rules.hub_baseline", "must be documents or owners"), (e.Line, e.Field, e.Message));
    }

    [Fact]
    public void Json_RoundTripsToTheSameCanonicalText()
    {
        var text = PolicyJson.Write(PolicyYaml.Load(Write(Valid)));
        using var doc = System.Text.Json.JsonDocument.Parse(text);
        Assert.Equal(text, PolicyJson.Write(PolicyJson.Read(doc.RootElement)));
    }

    [Fact]
    public void Load_NamesFileLineAndField_ForASplitThatDoesNotSumTo10000()
    {
        var path = Write(Valid.Replace("treasury: 2000", "treasury: 1000", StringComparison.Ordinal));
        var e = Assert.Throws<UserError>(() => PolicyYaml.Load(path));
        // The split's entries start on line 10 of the file above (training: 5000): the error points at them.
        Assert.Equal($"{path}:10: split_bps: parts must sum to 10000 basis points (got 9000)", e.Describe());
    }

    [Fact]
    public void Load_ReportsEveryProblem_UnknownKeysAndBadNumbersIncluded()
    {
        var path = Write(Valid.Replace("prompt: 5,", "prompt: -5,",
            StringComparison.Ordinal).Replace("  min_quality: 0.5", "  min_qualty: 0.5", StringComparison.Ordinal));
        var e = Assert.Throws<UserError>(() => PolicyYaml.Load(path));
        Assert.Equal(6, e.Line);
        Assert.Equal("prices.models.TinyStories-656K.prompt", e.Field);
        Assert.Contains("line 15: rules.min_qualty: unknown key", e.Hint, StringComparison.Ordinal);
    }
}
