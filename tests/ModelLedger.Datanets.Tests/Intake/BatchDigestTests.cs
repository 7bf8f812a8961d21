using System.Security.Cryptography;
using System.Text;

namespace ModelLedger.Datanets.Intake;

/// <summary>The intake batch id's digest encodes each string into a reused buffer; it must equal SHA-256 over the
/// UTF-8 of the strings concatenated, which is how the id was computed before (a retry after a crash finds its batch
/// by that id, so the id must not change).</summary>
public sealed class BatchDigestTests
{
    [Fact]
    public void Digest_IsSha256OfTheConcatenatedUtf8()
    {
        string[] parts =
        [
            "contribution.accepted", "\n", "alice", "\n", "{\"text\":\"données 数据 🙂\"}", "\n",
            new string('x', 3000), "\n", "", "\n", string.Concat(Enumerable.Repeat("é🙂", 700)), "\n",
        ];
        var digest = new IntakePipeline.IncrementalHash();
        foreach (var p in parts) digest.Add(p);
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Concat(parts))));
        Assert.Equal(expected, digest.Hex());
    }

    [Fact]
    public void Digest_OfAbc_IsThePublishedVector()
    {
        // FIPS 180-2: SHA-256("abc"), fed in two pieces.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            new IntakePipeline.IncrementalHash().Add("a").Add("bc").Hex());
    }
}
