using System.Text;
using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Ledger.Log;

public sealed class SignedNoteTests
{
    private static readonly JsonElement Vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.SignedNote, "note-vectors.json"))).RootElement;

    [Fact]
    public void Keys_DeriveThePublishedKeyIdsAndVkeys()
    {
        foreach (var key in Vectors.GetProperty("keys").EnumerateArray())
        {
            var name = key.GetProperty("name").GetString()!;
            var publicKey = Convert.FromHexString(key.GetProperty("public_key_hex").GetString()!);
            Assert.Equal(key.GetProperty("key_id_hex").GetString(), $"{NoteFormat.KeyId(name, publicKey):x8}");
            var verifier = NoteVerifier.Parse(key.GetProperty("vkey").GetString()!);
            Assert.Equal(publicKey, verifier.PublicKey);
            if (key.TryGetProperty("ed25519_seed_hex", out var seed))
            {
                using var signer = NoteSigner.FromSeed(name, Convert.FromHexString(seed.GetString()!));
                Assert.Equal(key.GetProperty("vkey").GetString(), signer.VerifierKey);
                if (key.TryGetProperty("skey", out var skey)) Assert.Equal(skey.GetString(), signer.SignerKey);
            }
        }
    }

    [Fact]
    public void PeterNeumann_SignsThePublishedSignature()
    {
        var key = Vectors.GetProperty("keys")[0];
        using var signer = NoteSigner.FromSeed("PeterNeumann", Convert.FromHexString(key.GetProperty("ed25519_seed_hex").GetString()!));
        var ok = Vectors.GetProperty("notes").EnumerateArray().First(n => n.GetProperty("want").GetString() == "ok" && n.GetProperty("message").GetString()!.Contains("cryptography", StringComparison.Ordinal));
        var message = ok.GetProperty("message").GetString()!;
        var text = message[..(message.LastIndexOf("\n\n", StringComparison.Ordinal) + 1)];
        Assert.Contains(message[(text.Length + 1)..], signer.Sign(text), StringComparison.Ordinal);
    }

    [Fact]
    public void Notes_VerifyAsPublished()
    {
        foreach (var note in Vectors.GetProperty("notes").EnumerateArray())
        {
            var bytes = note.TryGetProperty("message_hex", out var hex) ? Convert.FromHexString(hex.GetString()!) : Encoding.UTF8.GetBytes(note.GetProperty("message").GetString()!);
            var trusted = note.GetProperty("verifiers").EnumerateArray().Select(v => NoteVerifier.Parse(v.GetString()!)).ToList();
            var (verdict, _, names) = NoteFormat.Verify(bytes, trusted);
            var want = note.GetProperty("want").GetString() switch
            {
                "ok" => NoteVerdict.Ok, "unverified" => NoteVerdict.Unverified, "invalid-signature" => NoteVerdict.InvalidSignature, _ => NoteVerdict.Malformed,
            };
            Assert.True(want == verdict, $"{note.GetProperty("desc").GetString()}: want {want}, got {verdict}");
            if (want == NoteVerdict.Ok) Assert.Equal(note.GetProperty("verified_names").EnumerateArray().Select(n => n.GetString()), names);
        }
    }

    [Fact]
    public void BadVkeys_AreRejected()
    {
        foreach (var bad in Vectors.GetProperty("bad_vkeys").EnumerateArray())
            Assert.Throws<LedgerError>(() => NoteVerifier.Parse(bad.GetProperty("vkey").GetString()!));
    }

    [Fact]
    public void Checkpoints_ParseAndVerifyAsPublished()
    {
        foreach (var c in Vectors.GetProperty("checkpoints").EnumerateArray())
        {
            if (c.TryGetProperty("body", out var body))
            {
                var parsed = Checkpoint.Parse(body.GetString()!);
                Assert.Equal(c.GetProperty("origin").GetString(), parsed.Origin);
                Assert.Equal(c.GetProperty("size").GetUInt64(), parsed.Size);
                Assert.Equal(c.GetProperty("root_hex").GetString(), Convert.ToHexStringLower(parsed.Root));
                continue;
            }
            var verdict = NoteFormat.Verify(Encoding.UTF8.GetBytes(c.GetProperty("note").GetString()!), [NoteVerifier.Parse(c.GetProperty("vkey").GetString()!)]).Verdict;
            Assert.Equal(c.GetProperty("want").GetString() == "ok" ? NoteVerdict.Ok : NoteVerdict.InvalidSignature, verdict);
        }
    }

    [Fact]
    public void OurCheckpoint_SignsAndVerifies_AndATamperedOneFails()
    {
        using var signer = NoteSigner.Create("example.org/log");
        var checkpoint = new Checkpoint("example.org/log", 42, MerkleHash.Leaf([1, 2]));
        var note = signer.Sign(checkpoint.Text);
        var verifier = NoteVerifier.Parse(signer.VerifierKey);
        var (verdict, text, _) = NoteFormat.Verify(Encoding.UTF8.GetBytes(note), [verifier]);
        Assert.Equal(NoteVerdict.Ok, verdict);
        Assert.Equal(checkpoint.Text, text);
        Assert.Equal(NoteVerdict.InvalidSignature, NoteFormat.Verify(Encoding.UTF8.GetBytes(note.Replace("\n42\n", "\n43\n", StringComparison.Ordinal)), [verifier]).Verdict);
    }
}
