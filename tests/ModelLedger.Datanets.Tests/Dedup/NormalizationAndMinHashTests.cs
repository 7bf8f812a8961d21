namespace ModelLedger.Datanets.Dedup;

public sealed class NormalizationAndMinHashTests
{
    [Fact]
    public void Normalize_FoldsNfkcCasePunctuationAndWhitespace()
    {
        // Worked by hand: ﬁ (U+FB01) -> "fi", full-width Ｗｏｒｌｄ -> "world", ① -> "1", É -> "é", punctuation -> space.
        Assert.Equal("hello world fine 1 école", TextNormalizer.Normalize("  Hello,\tＷｏｒｌｄ!!  ﬁne — ①  ÉCOLE."));
    }

    [Fact]
    public void Normalize_ComposesDecomposedAccents()
    {
        // "e" + U+0301 (combining acute) composes to "é" under NFKC, so both spellings are one duplicate key.
        Assert.Equal(TextNormalizer.Hash(TextNormalizer.Normalize("Caf\u00e9")),
            TextNormalizer.Hash(TextNormalizer.Normalize("Cafe\u0301")));
    }

    [Fact]
    public void Jaccard_OfWordAndPairShingles_MatchesHandCount()
    {
        // "a b c" -> {a, b, c, a b, b c}; "a b d" -> {a, b, d, a b, b d}: 3 shared of 7 distinct.
        var x = MinHash.Shingles(["a", "b", "c"]);
        var y = MinHash.Shingles(["a", "b", "d"]);
        Assert.Equal(3.0 / 7.0, MinHash.Jaccard(x, y), 12);
    }

    [Fact]
    public void SignatureAgreement_EstimatesJaccard()
    {
        // Two sets of 400 shingles sharing 300: Jaccard 300/500 = 0.6; 64 permutations estimate it within ±0.2
        // (4.1 standard deviations of sqrt(0.6·0.4/64) = 0.061).
        var a = MinHash.Shingles([.. Enumerable.Range(0, 200).Select(i => $"w{i}")]);
        var b = MinHash.Shingles([.. Enumerable.Range(50, 200).Select(i => $"w{i}")]);
        var j = MinHash.Jaccard(a, b);
        var (sa, sb) = (MinHash.Signature(a), MinHash.Signature(b));
        double agree = sa.Zip(sb).Count(p => p.First == p.Second) / (double)MinHash.Permutations;
        Assert.InRange(agree, j - 0.2, j + 0.2);
    }

    [Fact]
    public void CandidateProbability_IsTheBandingSCurve()
    {
        // 1 - (1 - 0.8^4)^16 = 1 - 0.5904^16 = 1 - 2.2e-4 (worked with a calculator).
        Assert.Equal(1 - Math.Pow(0.5904, 16), MinHash.CandidateProbability(0.8), 12);
        Assert.True(1 - MinHash.CandidateProbability(0.8) < 3e-4);
    }

    [Fact]
    public void BandTable_FindsEveryValueOfAKey_AcrossGrowth()
    {
        var table = new BandTable();
        for (int i = 0; i < 1000; i++) table.Add((ulong)(i % 10) + 1, i);
        var found = new List<int>();
        table.Find(4, found);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i * 10 + 3), found.Order());
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("données ﬁ 数据网 🙂")]
    [InlineData(null)]   // 5,000 non-ASCII characters: over the stack buffer, hashed from a pooled one
    public void Hash_IsSha256HexOfTheUtf8(string? text)
    {
        text ??= string.Concat(Enumerable.Repeat("é数", 2500));
        // The reference: the plain library calls the stack-buffer version replaced.
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(text)));
        Assert.Equal(expected, TextNormalizer.Hash(text));
        if (text == "abc")   // FIPS 180-2's published SHA-256 vector
            Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", TextNormalizer.Hash(text));
    }
}
