namespace ModelLedger.Ledger.Log;

/// <summary>RFC 9162 §2.1.3.2 and §2.1.4.2 verification: pure functions over hashes, for anyone holding a root.</summary>
public static class ProofVerifier
{
    /// <summary>True when <paramref name="proof"/> shows leaf <paramref name="index"/> with hash <paramref name="leafHash"/>
    /// is in the tree of <paramref name="size"/> leaves whose root is <paramref name="root"/>.</summary>
    public static bool VerifyInclusion(ulong index, ulong size, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        if (index >= size || leafHash.Length != MerkleHash.Size || root.Length != MerkleHash.Size) return false;
        ulong fn = index, sn = size - 1;
        byte[] r = leafHash.ToArray();
        foreach (var p in proof)
        {
            if (p.Length != MerkleHash.Size || sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                r = MerkleHash.Node(p, r);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else r = MerkleHash.Node(r, p);
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    /// <summary>True when <paramref name="proof"/> shows the tree of <paramref name="size1"/> leaves (root1) is a
    /// prefix of the tree of <paramref name="size2"/> leaves (root2).</summary>
    public static bool VerifyConsistency(ulong size1, ulong size2, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2)
    {
        if (size1 == 0 || size1 > size2) return false;
        if (size1 == size2) return proof.Count == 0 && root1.SequenceEqual(root2);
        if (root1.Length != MerkleHash.Size || root2.Length != MerkleHash.Size) return false;
        if (proof.Count == 0 || proof.Any(p => p.Length != MerkleHash.Size)) return false;
        var path = new List<byte[]>(proof);
        if ((size1 & (size1 - 1)) == 0) path.Insert(0, root1.ToArray());   // size1 a power of two: its root starts the path
        ulong fn = size1 - 1, sn = size2 - 1;
        while ((fn & 1) == 1) { fn >>= 1; sn >>= 1; }
        byte[] fr = path[0], sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn)
            {
                fr = MerkleHash.Node(c, fr);
                sr = MerkleHash.Node(c, sr);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else sr = MerkleHash.Node(sr, c);
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && fr.AsSpan().SequenceEqual(root1) && sr.AsSpan().SequenceEqual(root2);
    }
}
