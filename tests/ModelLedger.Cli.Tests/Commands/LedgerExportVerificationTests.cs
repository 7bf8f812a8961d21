using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelLedger.Testing;
using NSec.Cryptography;

namespace ModelLedger.Cli.Commands;

/// <summary>Issue 18 item 5: an export checked with code written here from the specifications only (RFC 9162 §2.1.1
/// for the tree, C2SP signed-note and tlog-checkpoint for the checkpoint, docs/ledger.md for the entry bytes), not
/// with the ledger's own classes: the promise that anyone can verify with their own code.</summary>
public sealed class LedgerExportVerificationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] LeafHash(byte[] leaf) => SHA256.HashData([0x00, .. leaf]);

    /// <summary>RFC 9162 §2.1.1 MTH, straight from its definition: split at the largest power of two below n.</summary>
    private static byte[] Root(IReadOnlyList<byte[]> leaves, int start, int n)
    {
        if (n == 0) return SHA256.HashData([]);
        if (n == 1) return LeafHash(leaves[start]);
        int k = 1;
        while (k * 2 < n) k *= 2;
        return SHA256.HashData([0x01, .. Root(leaves, start, k), .. Root(leaves, start + k, n - k)]);
    }

    [Fact]
    public void Export_VerifiesWithIndependentCode()
    {
        var ws = Path.Combine(_dir.Path, "ws");
        string[] Args(params string[] a) => ["ledger", .. a, "--workspace", ws];
        var vkey = CliRunner.Run(Args("init", "--origin", "example.org/ledger")).Stdout.Trim();
        using (var workspace = ModelLedger.Ledger.LedgerWorkspace.Open(ws, null))
        {
            workspace.Service.Append("datanet.created", "ann", """{"datanet":"stories"}""");
            workspace.Service.Append("epoch.closed", "bo", """{"epoch":1}""", "e1");
            workspace.Service.Append("epoch.closed", "bo", """{"epoch":2}""");
        }
        var note = CliRunner.Run(Args("checkpoint")).Stdout;
        var export = Path.Combine(_dir.Path, "ledger.jsonl");
        Assert.Equal(0, CliRunner.Run(Args("export", "--out", export)).ExitCode);
        var lines = File.ReadAllLines(export).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var leaves = lines.Select(l => Convert.FromBase64String(l.GetProperty("leaf").GetString()!)).ToList();

        // the signed note: text, a blank line, "— name base64(key id ‖ signature)"
        int split = note.LastIndexOf("\n\n", StringComparison.Ordinal);
        var text = note[..(split + 1)];
        var signature = note[(split + 2)..].TrimEnd('\n').Split(' ');
        Assert.Equal(["\u2014", "example.org/ledger"], signature[..2]);
        var vkeyParts = vkey.Split('+', 3);  // name+hash+base64: the base64 key may itself contain '+'
        var publicKey = Convert.FromBase64String(vkeyParts[2]);
        Assert.Equal(0x01, publicKey[0]);
        var keyId = SHA256.HashData([.. Encoding.UTF8.GetBytes(vkeyParts[0]), 0x0A, .. publicKey])[..4];
        Assert.Equal(vkeyParts[1], Convert.ToHexStringLower(keyId));
        var blob = Convert.FromBase64String(signature[2]);
        Assert.Equal(keyId, blob[..4]);
        var ed25519 = SignatureAlgorithm.Ed25519;
        Assert.True(ed25519.Verify(PublicKey.Import(ed25519, publicKey[1..], KeyBlobFormat.RawPublicKey), Encoding.UTF8.GetBytes(text), blob[4..]));

        // the checkpoint body: origin, size, base64 root — and the root is the RFC 9162 root of the exported leaves
        var body = text.Split('\n');
        Assert.Equal(("example.org/ledger", "3"), (body[0], body[1]));
        Assert.Equal(Convert.ToBase64String(Root(leaves, 0, leaves.Count)), body[2]);

        // one leaf's bytes, built by hand from the encoding docs/ledger.md specifies
        var ts = lines[1].GetProperty("event").GetProperty("ts").GetString();
        Assert.Equal($$$"""{"v":1,"type":"epoch.closed","ts":"{{{ts}}}","actor":"bo","id":"e1","refs":[],"payload":{"epoch":1}}""", Encoding.UTF8.GetString(leaves[1]));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", ts);
    }
}
