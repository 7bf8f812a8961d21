using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Ledger.Log;

public sealed class MerkleTreeTests
{
    private static readonly JsonElement Reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Merkle, "reference-tree.json"))).RootElement;

    private static MerkleTree ReferenceTree(int size)
    {
        var tree = new MerkleTree();
        foreach (var hex in Reference.GetProperty("leaves_hex").EnumerateArray().Take(size)) tree.Append(MerkleHash.Leaf(Convert.FromHexString(hex.GetString()!)));
        return tree;
    }

    private static byte[] B64(JsonElement e) => e.ValueKind == JsonValueKind.Null ? [] : Convert.FromBase64String(e.GetString()!);
    private static List<byte[]> Proof(JsonElement probe) =>
        probe.GetProperty("proof").ValueKind == JsonValueKind.Null ? [] : probe.GetProperty("proof").EnumerateArray().Select(B64).ToList();

    [Fact]
    public void Roots_MatchTheReferenceTreeAtEverySize()
    {
        var roots = Reference.GetProperty("root_by_size_hex").EnumerateArray().Select(r => r.GetString()!).ToList();
        var tree = ReferenceTree(8);
        for (int size = 0; size <= 8; size++) Assert.Equal(roots[size], Convert.ToHexStringLower(tree.Root(size)));
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(MerkleHash.Empty));
    }

    public static TheoryData<string> InclusionProbes => new(Directory.GetFiles(Path.Combine(TestPaths.Merkle, "inclusion"), "*.json", SearchOption.AllDirectories)
        .Select(p => Path.GetRelativePath(TestPaths.Merkle, p)));

    [Theory]
    [MemberData(nameof(InclusionProbes))]
    public void InclusionProbe_VerifiesExactlyWhenExpected(string file)
    {
        var probe = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Merkle, file))).RootElement;
        bool ok = ProofVerifier.VerifyInclusion(probe.GetProperty("leafIdx").GetUInt64(), probe.GetProperty("treeSize").GetUInt64(),
            B64(probe.GetProperty("leafHash")), Proof(probe), B64(probe.GetProperty("root")));
        Assert.Equal(!probe.GetProperty("wantErr").GetBoolean(), ok);
        if (ok && probe.GetProperty("treeSize").GetInt64() <= 8 && file.Contains("happy", StringComparison.Ordinal) && !file.Contains("single", StringComparison.Ordinal))
        {
            var generated = ReferenceTree(8).InclusionProof(probe.GetProperty("leafIdx").GetInt64(), probe.GetProperty("treeSize").GetInt64());
            Assert.Equal(Proof(probe).Select(Convert.ToHexString), generated.Select(Convert.ToHexString));
        }
    }

    public static TheoryData<string> ConsistencyProbes => new(Directory.GetFiles(Path.Combine(TestPaths.Merkle, "consistency"), "*.json", SearchOption.AllDirectories)
        .Select(p => Path.GetRelativePath(TestPaths.Merkle, p)));

    [Theory]
    [MemberData(nameof(ConsistencyProbes))]
    public void ConsistencyProbe_VerifiesExactlyWhenExpected(string file)
    {
        var probe = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Merkle, file))).RootElement;
        ulong size1 = probe.GetProperty("size1").GetUInt64(), size2 = probe.GetProperty("size2").GetUInt64();
        bool ok = ProofVerifier.VerifyConsistency(size1, size2, Proof(probe), B64(probe.GetProperty("root1")), B64(probe.GetProperty("root2")));
        Assert.Equal(!probe.GetProperty("wantErr").GetBoolean(), ok);
        if (ok && size2 <= 8 && file.Contains("happy", StringComparison.Ordinal))
            Assert.Equal(Proof(probe).Select(Convert.ToHexString), ReferenceTree(8).ConsistencyProof((long)size1, (long)size2).Select(Convert.ToHexString));
    }

    [Fact]
    public void EveryLeafOfEveryTreeProves_AndEveryPairOfSizesIsConsistent()
    {
        var tree = new MerkleTree();
        for (int i = 0; i < 40; i++) tree.Append(MerkleHash.Leaf(BitConverter.GetBytes(i)));
        for (long size = 1; size <= 40; size++)
        {
            var root = tree.Root(size);
            for (long index = 0; index < size; index++)
            {
                var proof = tree.InclusionProof(index, size);
                Assert.True(ProofVerifier.VerifyInclusion((ulong)index, (ulong)size, tree.LeafHash(index), proof, root));
                Assert.InRange(proof.Count, 0, 6);   // O(log n)
                if (size > 1) Assert.False(ProofVerifier.VerifyInclusion((ulong)index, (ulong)size, tree.LeafHash((index + 1) % size), proof, root));
                var tampered = proof.Select(p => p.ToArray()).ToList();
                if (tampered.Count > 0) { tampered[^1][0] ^= 0x80; Assert.False(ProofVerifier.VerifyInclusion((ulong)index, (ulong)size, tree.LeafHash(index), tampered, root)); }
            }
            for (long from = 1; from <= size; from++)
            {
                var proof = tree.ConsistencyProof(from, size);
                Assert.True(ProofVerifier.VerifyConsistency((ulong)from, (ulong)size, proof, tree.Root(from), root));
                if (proof.Count > 0)
                {
                    var flipped = proof.Select(p => p.ToArray()).ToList();
                    flipped[0][5] ^= 1;
                    Assert.False(ProofVerifier.VerifyConsistency((ulong)from, (ulong)size, flipped, tree.Root(from), root));
                }
            }
        }
    }

    [Fact]
    public void ProofsOutsideTheTree_AreErrors()
    {
        var tree = ReferenceTree(3);
        Assert.Throws<LedgerError>(() => tree.InclusionProof(3, 3));
        Assert.Throws<LedgerError>(() => tree.InclusionProof(0, 4));
        Assert.Throws<LedgerError>(() => tree.ConsistencyProof(0, 2));
        Assert.Throws<LedgerError>(() => tree.ConsistencyProof(3, 2));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1023)]   // the largest leaf hashed from a stack buffer
    [InlineData(1024)]   // the smallest hashed from a pooled one
    [InlineData(70_000)]
    public void LeafHash_IsSha256OfZeroByteThenData(int length)
    {
        // RFC 9162 §2.1.1: MTH of one entry = SHA-256(0x00 ‖ d), built here by plain concatenation.
        var data = Enumerable.Range(0, length).Select(i => (byte)(i * 31 + 7)).ToArray();
        var expected = System.Security.Cryptography.SHA256.HashData([0, .. data]);
        Assert.Equal(expected, MerkleHash.Leaf(data));
        Assert.Equal(expected, MerkleHash.Leaf(data));   // again: a reused buffer must not leak the previous call
    }
}
