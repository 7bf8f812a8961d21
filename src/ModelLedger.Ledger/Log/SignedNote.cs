using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace ModelLedger.Ledger.Log;

/// <summary>An Ed25519 note signer (C2SP signed-note, key type 0x01): name, 4-byte key ID, key pair.</summary>
public sealed class NoteSigner : IDisposable
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    public string Name { get; }
    public byte[] PublicKey { get; }
    public uint KeyId { get; }

    private NoteSigner(string name, Key key)
    {
        Name = NoteFormat.CheckName(name);
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        KeyId = NoteFormat.KeyId(name, PublicKey);
    }

    public static NoteSigner Create(string name) =>
        new(name, Key.Create(Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    public static NoteSigner FromSeed(string name, ReadOnlySpan<byte> seed) =>
        new(name, Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    public byte[] Seed => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>The verifier key text: name+hex key ID+base64(0x01 ‖ public key).</summary>
    public string VerifierKey => $"{Name}+{KeyId:x8}+{Convert.ToBase64String([0x01, .. PublicKey])}";

    /// <summary>Go's private key text (PRIVATE+KEY+name+id+base64(0x01 ‖ seed)), how the workspace stores the key.</summary>
    public string SignerKey => $"PRIVATE+KEY+{Name}+{KeyId:x8}+{Convert.ToBase64String([0x01, .. Seed])}";

    public static NoteSigner FromSignerKey(string text)
    {
        var parts = text.Trim().Split('+', 5);
        if (parts.Length != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY") throw new LedgerError("malformed signer key");
        var blob = Convert.FromBase64String(parts[4]);
        if (blob.Length != 33 || blob[0] != 0x01) throw new LedgerError("signer key is not an Ed25519 key");
        var signer = FromSeed(parts[2], blob.AsSpan(1));
        if ($"{signer.KeyId:x8}" != parts[3]) throw new LedgerError("signer key ID does not match its key");
        return signer;
    }

    /// <summary>Signs <paramref name="text"/> (which must end in a newline) into a note with one signature line.</summary>
    public string Sign(string text)
    {
        NoteFormat.CheckText(text);
        var signature = Ed25519.Sign(_key, Encoding.UTF8.GetBytes(text));
        var blob = new byte[4 + signature.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(blob, KeyId);
        signature.CopyTo(blob, 4);
        return $"{text}\n\u2014 {Name} {Convert.ToBase64String(blob)}\n";
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>A trusted verifier key parsed from its vkey text.</summary>
public sealed record NoteVerifier(string Name, uint KeyId, byte[] PublicKey)
{
    public static NoteVerifier Parse(string vkey)
    {
        var parts = vkey.Trim().Split('+', 3);
        if (parts.Length != 3) throw new LedgerError("malformed verifier key: want name+keyid+key");
        NoteFormat.CheckName(parts[0]);
        if (parts[1].Length != 8 || !uint.TryParse(parts[1], System.Globalization.NumberStyles.HexNumber, null, out var id))
            throw new LedgerError("malformed verifier key: the key ID must be 8 hex digits");
        byte[] blob;
        try { blob = Convert.FromBase64String(parts[2]); }
        catch (FormatException) { throw new LedgerError("malformed verifier key: the key is not base64"); }
        if (blob.Length != 33 || blob[0] != 0x01) throw new LedgerError("verifier key is not an Ed25519 (type 0x01) key");
        var key = blob[1..];
        if (NoteFormat.KeyId(parts[0], key) != id) throw new LedgerError("verifier key ID does not match its key");
        return new NoteVerifier(parts[0], id, key);
    }

    public bool Verify(byte[] message, byte[] signature)
    {
        var algorithm = SignatureAlgorithm.Ed25519;
        if (!NSec.Cryptography.PublicKey.TryImport(algorithm, PublicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null) return false;
        return algorithm.Verify(key, message, signature);
    }
}

public enum NoteVerdict { Ok, Unverified, InvalidSignature, Malformed }

/// <summary>C2SP signed-note parsing and verification.</summary>
public static class NoteFormat
{
    public static uint KeyId(string name, ReadOnlySpan<byte> publicKey)
    {
        var preimage = Encoding.UTF8.GetBytes(name).Concat(new byte[] { 0x0A, 0x01 }).Concat(publicKey.ToArray()).ToArray();
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(preimage));
    }

    /// <summary>The signers a note's signature lines name, as name+hex key ID (unverified; for messages).</summary>
    public static IReadOnlyList<string> Signers(string note)
    {
        var signers = new List<string>();
        foreach (var line in note.Split('\n').Where(l => l.StartsWith("\u2014 ", StringComparison.Ordinal)))
        {
            var fields = line[2..].Split(' ');
            if (fields.Length != 2) continue;
            try
            {
                var blob = Convert.FromBase64String(fields[1]);
                signers.Add(blob.Length >= 4 ? $"{fields[0]}+{System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(blob):x8}" : fields[0]);
            }
            catch (FormatException) { signers.Add(fields[0]); }
        }
        return signers;
    }

    internal static string CheckName(string name)
    {
        if (name.Length == 0 || name.Any(c => char.IsWhiteSpace(c) || c == '+' || char.IsControl(c)))
            throw new LedgerError($"key name '{name}' must be non-empty without spaces or '+'");
        return name;
    }

    internal static void CheckText(string text)
    {
        if (!text.EndsWith('\n')) throw new LedgerError("note text must end with a newline");
        if (text.Any(c => char.IsControl(c) && c != '\n')) throw new LedgerError("note text has control characters");
    }

    /// <summary>Verifies a note against trusted keys: Ok (and the text) when a trusted key signed it, Unverified when
    /// none did, InvalidSignature when a trusted key's signature fails, Malformed when it is not a note.</summary>
    public static (NoteVerdict Verdict, string? Text, IReadOnlyList<string> Names) Verify(byte[] note, IReadOnlyList<NoteVerifier> trusted)
    {
        string message;
        try { message = new UTF8Encoding(false, true).GetString(note); }
        catch (DecoderFallbackException) { return (NoteVerdict.Malformed, null, []); }
        if (message.Any(c => char.IsControl(c) && c != '\n')) return (NoteVerdict.Malformed, null, []);
        int split = message.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0 || !message.EndsWith('\n') || split + 2 >= message.Length) return (NoteVerdict.Malformed, null, []);
        var text = message[..(split + 1)];
        var lines = message[(split + 2)..^1].Split('\n');
        if (lines.Length > 100) return (NoteVerdict.Malformed, null, []);
        var verified = new List<string>();
        var textBytes = Encoding.UTF8.GetBytes(text);
        foreach (var line in lines)
        {
            if (!line.StartsWith("\u2014 ", StringComparison.Ordinal)) return (NoteVerdict.Malformed, null, []);
            var fields = line[2..].Split(' ');
            if (fields.Length != 2 || fields[0].Length == 0) return (NoteVerdict.Malformed, null, []);
            string name = fields[0];
            byte[] blob;
            try { blob = Convert.FromBase64String(fields[1]); }
            catch (FormatException) { return (NoteVerdict.Malformed, null, []); }
            if (blob.Length < 5) return (NoteVerdict.Malformed, null, []);
            uint id = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(blob);
            var key = trusted.FirstOrDefault(k => k.Name == name && k.KeyId == id);
            if (key is null) continue;
            if (blob.Length != 68 || !key.Verify(textBytes, blob[4..])) return (NoteVerdict.InvalidSignature, null, []);
            if (!verified.Contains(name)) verified.Add(name);
        }
        return verified.Count == 0 ? (NoteVerdict.Unverified, null, []) : (NoteVerdict.Ok, text, verified);
    }
}

/// <summary>A tlog-checkpoint body: origin, tree size, root hash (and optional extension lines).</summary>
public sealed record Checkpoint(string Origin, ulong Size, byte[] Root)
{
    public string Text => $"{Origin}\n{Size}\n{Convert.ToBase64String(Root)}\n";

    public static Checkpoint Parse(string text)
    {
        var lines = text.Split('\n');
        if (lines.Length < 4 || lines[^1] != "" || lines[0].Length == 0) throw new LedgerError("malformed checkpoint: want origin, size and root lines");
        if (lines[1].Length == 0 || (lines[1].Length > 1 && lines[1][0] == '0') || !lines[1].All(char.IsAsciiDigit) || !ulong.TryParse(lines[1], out var size))
            throw new LedgerError("malformed checkpoint: tree size must be a decimal number without leading zeros");
        byte[] root;
        try { root = Convert.FromBase64String(lines[2]); }
        catch (FormatException) { throw new LedgerError("malformed checkpoint: root hash is not base64"); }
        if (root.Length != MerkleHash.Size) throw new LedgerError("malformed checkpoint: root hash must be 32 bytes");
        if (lines[3..^1].Any(l => l.Length == 0)) throw new LedgerError("malformed checkpoint: empty extension line");
        return new Checkpoint(lines[0], size, root);
    }
}
