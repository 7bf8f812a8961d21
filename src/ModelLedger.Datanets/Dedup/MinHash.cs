using System.Text;

namespace ModelLedger.Datanets.Dedup;

/// <summary>
/// MinHash over word shingles. A record's shingles are its words and its adjacent word pairs (1- and 2-shingles):
/// single words keep a light paraphrase (a few words swapped or replaced) close in Jaccard, pairs keep word order
/// from counting for nothing. Each shingle is hashed once to 64 bits (FNV-1a over UTF-16, then a splitmix64
/// finaliser); the <see cref="Permutations"/> hash functions are h_i(x) = high 32 bits of (a_i·x + b_i) mod 2^64 with
/// fixed odd a_i, so signatures are stable across processes and machines (they are stored and re-derived by verify).
/// LSH: <see cref="Bands"/> bands of <see cref="Rows"/> rows; two records become candidates when any band matches,
/// with probability 1 − (1 − J^r)^b for Jaccard J (docs/datanets.md tabulates it). Thread-safe.
/// </summary>
internal static class MinHash
{
    public const int Bands = 16, Rows = 4, Permutations = Bands * Rows;
    private static readonly ulong[] A = new ulong[Permutations], B = new ulong[Permutations];

    static MinHash()
    {
        ulong state = 0x6d6c6564676572UL;   // "mledger": any fixed seed; changing it invalidates stored signatures
        for (int i = 0; i < Permutations; i++)
        {
            A[i] = SplitMix(ref state) | 1;
            B[i] = SplitMix(ref state);
        }
    }

    /// <summary>The set of 64-bit shingle hashes of a normalised word list, sorted ascending without repeats. A pair
    /// "a b" hashes as FNV over "a", " ", "b", so it continues from the state the word "a" left: each word's
    /// characters are hashed twice (alone, and as a pair's second word), not three times.</summary>
    public static ulong[] Shingles(string[] words)
    {
        var hashes = new ulong[Math.Max(0, words.Length * 2 - 1)];
        ulong space = 0;
        for (int i = 0; i < words.Length; i++)
        {
            ulong word = Fnv(words[i], 0xcbf29ce484222325UL);
            hashes[2 * i] = Mix(word);
            if (i > 0) hashes[2 * i - 1] = Mix(Fnv(words[i], space));
            space = Fnv(" ", word);
        }
        Array.Sort(hashes);
        int n = 0;
        for (int i = 0; i < hashes.Length; i++)
            if (i == 0 || hashes[i] != hashes[n - 1]) hashes[n++] = hashes[i];
        return n == hashes.Length ? hashes : hashes[..n];
    }

    /// <summary>The signature: per permutation, the least hash over the shingles (all ones for no shingles).</summary>
    public static uint[] Signature(ulong[] shingles)
    {
        var signature = new uint[Permutations];
        Array.Fill(signature, uint.MaxValue);
        foreach (var x in shingles)
            for (int i = 0; i < Permutations; i++)
            {
                uint h = (uint)((A[i] * x + B[i]) >> 32);
                if (h < signature[i]) signature[i] = h;
            }
        return signature;
    }

    /// <summary>One key per band (never 0, the empty slot of <see cref="BandTable"/>): the band number and its rows
    /// mixed to 64 bits.</summary>
    public static ulong[] BandKeys(uint[] signature)
    {
        var keys = new ulong[Bands];
        for (int band = 0; band < Bands; band++)
        {
            ulong h = Mix((ulong)band + 0x9e3779b97f4a7c15UL);
            for (int r = 0; r < Rows; r++) h = Mix(h ^ signature[band * Rows + r]);
            keys[band] = h == 0 ? 1 : h;
        }
        return keys;
    }

    /// <summary>Exact Jaccard of two shingle sets as <see cref="Shingles"/> returns them (sorted, distinct).</summary>
    public static double Jaccard(ulong[] a, ulong[] b)
    {
        if (a.Length == 0 && b.Length == 0) return 1;
        int shared = Shared(a, b);
        return (double)shared / (a.Length + b.Length - shared);
    }

    /// <summary>How many values two sorted, distinct arrays have in common.</summary>
    public static int Shared(ulong[] a, ulong[] b)
    {
        int shared = 0;
        for (int i = 0, j = 0; i < a.Length && j < b.Length;)
        {
            if (a[i] == b[j]) { shared++; i++; j++; }
            else if (a[i] < b[j]) i++;
            else j++;
        }
        return shared;
    }

    /// <summary>A single word's 64-bit hash, the same value as that word's 1-shingle.</summary>
    public static ulong WordHash(string word) => Mix(Fnv(word, 0xcbf29ce484222325UL));

    public static byte[] ToBytes(uint[] signature)
    {
        var bytes = new byte[signature.Length * 4];
        for (int i = 0; i < signature.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), signature[i]);
        return bytes;
    }

    public static uint[] FromBytes(byte[] bytes)
    {
        var signature = new uint[bytes.Length / 4];
        for (int i = 0; i < signature.Length; i++)
            signature[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4));
        return signature;
    }

    private static ulong Fnv(string s, ulong h)
    {
        foreach (char c in s) h = (h ^ c) * 0x100000001b3UL;
        return h;
    }

    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }

    private static ulong SplitMix(ref ulong state) => Mix(state += 0x9e3779b97f4a7c15UL);

    /// <summary>Probability that LSH makes a pair of Jaccard <paramref name="j"/> a candidate: 1 − (1 − j^r)^b.</summary>
    public static double CandidateProbability(double j) => 1 - Math.Pow(1 - Math.Pow(j, Rows), Bands);
}
