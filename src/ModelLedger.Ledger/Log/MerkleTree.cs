namespace ModelLedger.Ledger.Log;

/// <summary>
/// An append-only RFC 9162 Merkle tree over leaf hashes, kept as complete subtree roots per level so appending is
/// O(log n), and any past tree's root, inclusion proof and consistency proof can be computed from the stored leaf
/// hashes. Not thread-safe; the log serialises appends.
/// </summary>
public sealed class MerkleTree
{
    // _levels[h][i] = root of the complete subtree of 2^h leaves starting at leaf i·2^h.
    private readonly List<List<byte[]>> _levels = [[]];

    public long Size => _levels[0].Count;

    public void Append(byte[] leafHash)
    {
        if (leafHash.Length != MerkleHash.Size) throw new ArgumentException("a leaf hash has 32 bytes", nameof(leafHash));
        _levels[0].Add(leafHash);
        for (int h = 0; (_levels[h].Count & 1) == 0; h++)
        {
            if (_levels.Count == h + 1) _levels.Add([]);
            var level = _levels[h];
            _levels[h + 1].Add(MerkleHash.Node(level[^2], level[^1]));
        }
    }

    public byte[] LeafHash(long index) => _levels[0][(int)index];

    /// <summary>Drops the leaves from <paramref name="size"/> on (a write that did not commit).</summary>
    public void Truncate(long size)
    {
        if (size < 0 || size > Size) throw new ArgumentOutOfRangeException(nameof(size));
        for (int h = 0; h < _levels.Count; h++)
        {
            long keep = size >> h;
            var level = _levels[h];
            if (level.Count > keep) level.RemoveRange((int)keep, level.Count - (int)keep);
        }
    }

    /// <summary>Root of the tree of the first <paramref name="size"/> leaves (RFC 9162 MTH).</summary>
    public byte[] Root(long size)
    {
        Check(size);
        return size == 0 ? MerkleHash.Empty : Hash(0, size);
    }

    public byte[] Root() => Root(Size);

    /// <summary>MTH of leaves [start, start+count): stored subtree roots where the range is aligned, else recursion.</summary>
    private byte[] Hash(long start, long count)
    {
        if (count == 1) return _levels[0][(int)start];
        if ((count & (count - 1)) == 0 && start % count == 0)
        {
            int h = System.Numerics.BitOperations.Log2((ulong)count);
            if (h < _levels.Count && start / count < _levels[h].Count) return _levels[h][(int)(start / count)];
        }
        long k = MerkleHash.Split(count);
        return MerkleHash.Node(Hash(start, k), Hash(start + k, count - k));
    }

    /// <summary>RFC 9162 §2.1.3.1 audit path for leaf <paramref name="index"/> in the tree of <paramref name="size"/>
    /// leaves, from the leaf's sibling up to the root's child.</summary>
    public IReadOnlyList<byte[]> InclusionProof(long index, long size)
    {
        Check(size);
        if (index < 0 || index >= size) throw new LedgerError($"index {index} is outside a tree of {size} entries");
        var path = new List<byte[]>();
        Path(index, 0, size, path);
        return path;
    }

    private void Path(long m, long start, long n, List<byte[]> path)
    {
        if (n == 1) return;
        long k = MerkleHash.Split(n);
        if (m < k) { Path(m, start, k, path); path.Add(Hash(start + k, n - k)); }
        else { Path(m - k, start + k, n - k, path); path.Add(Hash(start, k)); }
    }

    /// <summary>RFC 9162 §2.1.4.1 consistency proof from the tree of <paramref name="from"/> leaves to that of
    /// <paramref name="to"/> leaves (0 &lt; from ≤ to).</summary>
    public IReadOnlyList<byte[]> ConsistencyProof(long from, long to)
    {
        Check(to);
        if (from <= 0 || from > to) throw new LedgerError($"a consistency proof needs 0 < from ≤ to (got {from}, {to})");
        var proof = new List<byte[]>();
        if (from < to) SubProof(from, 0, to, true, proof);
        return proof;
    }

    private void SubProof(long m, long start, long n, bool complete, List<byte[]> proof)
    {
        if (m == n)
        {
            if (!complete) proof.Add(Hash(start, n));
            return;
        }
        long k = MerkleHash.Split(n);
        if (m <= k)
        {
            SubProof(m, start, k, complete, proof);
            proof.Add(Hash(start + k, n - k));
        }
        else
        {
            SubProof(m - k, start + k, n - k, false, proof);
            proof.Add(Hash(start, k));
        }
    }

    private void Check(long size)
    {
        if (size < 0 || size > Size) throw new LedgerError($"tree size {size} is outside the log (0..{Size})");
    }
}
