using ModelLedger.Ledger.Log;

namespace ModelLedger.Datanets.Snapshots;

/// <summary>A snapshot's root: the RFC 9162 Merkle tree hash (the log's own hashing, <see cref="MerkleHash"/>) whose
/// leaves are the items' 32-byte content hashes in acceptance order, leaf i = SHA-256(0x00 ‖ content_hash_i).</summary>
public static class SnapshotRoot
{
    public static string Of(IEnumerable<string> contentHashes)
    {
        var tree = new MerkleTree();
        foreach (var hash in contentHashes) tree.Append(MerkleHash.Leaf(Convert.FromHexString(hash)));
        return Convert.ToHexStringLower(tree.Root());
    }
}
