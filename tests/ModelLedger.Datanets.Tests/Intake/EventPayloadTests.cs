using System.Text.Json.Nodes;

namespace ModelLedger.Datanets.Intake;

/// <summary>The direct payload writer against the reference: the generic canonical writer (sorted keys, nulls left
/// out) over the same fields, which is what intake wrote before and what the ledger, Rewards and verify read.</summary>
public sealed class EventPayloadTests
{
    private const string Hash = "0f4e9a3c2b1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f";

    [Theory]
    [InlineData("alice", "3f2a1b0c9d8e7f6a", 0.8125, 212)]
    [InlineData("bøb \"quoted\"\\", null, 1.0 / 3, 7)]
    [InlineData("carol\tnew\nline", "00", 0.0, 0)]
    public void Accepted_MatchesCanonicalObject(string contributor, string? keyId, double quality, int length)
    {
        var expected = CanonicalJson.Object(("datanet", "net-1"), ("contributor", contributor),
            ("content_hash", Hash), ("key_id", keyId), ("signature", "ab12"), ("item", Hash), ("cluster", "c9"),
            ("first_item", "c9"), ("quality", quality), ("length", length));
        Assert.Equal(expected, EventPayload.Accepted("net-1", contributor, Hash, keyId, "ab12", "c9", quality, length));
    }

    [Theory]
    [InlineData("alice", "3f2a1b0c9d8e7f6a", "near-duplicate", "near-duplicate: Jaccard 0.91 >= 0.80 with x", "d1")]
    [InlineData("mallory", null, "signature", "signature: contributor 'mallory' is not registered", null)]
    [InlineData("ève", "01", "low-quality", "low-quality: score 0.12 <\u00a00.35 ☃ \u0001", null)]
    public void Rejected_MatchesCanonicalObject(string contributor, string? keyId, string code, string reason,
        string? duplicateOf)
    {
        var expected = CanonicalJson.Object(("datanet", "net-1"), ("contributor", contributor),
            ("content_hash", Hash), ("key_id", keyId), ("signature", "ab12"), ("code", code), ("reason", reason),
            ("duplicate_of", duplicateOf));
        Assert.Equal(expected, EventPayload.Rejected("net-1", contributor, Hash, keyId, "ab12", code, reason,
            duplicateOf));
    }

    [Fact]
    public void Accepted_IsValidJsonWithTheRewardFields()
    {
        var node = JsonNode.Parse(EventPayload.Accepted("n", "a", Hash, "k", "s", "c", 0.5, 3))!.AsObject();
        Assert.Equal(["cluster", "content_hash", "contributor", "datanet", "first_item", "item", "key_id", "length",
            "quality", "signature"], node.Select(p => p.Key));
        Assert.Equal(0.5, node["quality"]!.GetValue<double>());
    }
}
