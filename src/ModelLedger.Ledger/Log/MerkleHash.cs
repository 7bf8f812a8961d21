using System.Buffers;
using System.Security.Cryptography;

namespace ModelLedger.Ledger.Log;

/// <summary>RFC 9162 §2.1.1 hashing: SHA-256, leaf = H(0x00 ‖ data), node = H(0x01 ‖ left ‖ right), empty tree = H("").</summary>
public static class MerkleHash
{
    public const int Size = 32;

    public static byte[] Empty { get; } = SHA256.HashData([]);

    public static byte[] Leaf(ReadOnlySpan<byte> data)
    {
        // 0x00 ‖ data in a stack or pooled buffer: a log append hashes every leaf, and a fresh copy per leaf was a
        // third of what appending allocated.
        byte[]? rented = null;
        Span<byte> buffer = data.Length < 1024 ? stackalloc byte[data.Length + 1]
            : (rented = ArrayPool<byte>.Shared.Rent(data.Length + 1)).AsSpan(0, data.Length + 1);
        buffer[0] = 0;
        data.CopyTo(buffer[1..]);
        var hash = SHA256.HashData(buffer);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return hash;
    }

    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + 2 * Size];
        buffer[0] = 1;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + Size)..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>The largest power of two strictly smaller than n (n ≥ 2): where RFC 9162 splits a tree of n leaves.</summary>
    public static long Split(long n)
    {
        long k = 1;
        while (k << 1 < n) k <<= 1;
        return k;
    }
}
