using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ModelLedger.Ledger.Log;

namespace ModelLedger.Server.Management;

public sealed class LedgerRoutesTests(ManagementServerFixture server) : IClassFixture<ManagementServerFixture>
{
    private static byte[] Hex(JsonNode? node) => Convert.FromHexString(node!.GetValue<string>());

    [Fact]
    public async Task InclusionProof_VerifiesAgainstTheSignedCheckpoint()
    {
        var (signed, checkpoint) = await server.SendAsync(HttpMethod.Post, "/v1/ledger/checkpoint", server.Admin);
        Assert.True(signed == 201, checkpoint?.ToJsonString());
        var (_, head) = await server.GetAsync("/v1/ledger", server.Consumer);
        var (_, latest) = await server.GetAsync("/v1/ledger/checkpoint", server.Consumer);
        var note = latest!["note"]!.GetValue<string>();
        // The client's side: the note verifies under the server's published key, and names the tree it signs.
        var (verdict, text, _) = NoteFormat.Verify(Encoding.UTF8.GetBytes(note),
            [NoteVerifier.Parse(head!["verifier_key"]!.GetValue<string>())]);
        Assert.Equal(NoteVerdict.Ok, verdict);
        var tree = Checkpoint.Parse(text!);
        Assert.True(tree.Size >= 3, $"the fixture's workspace has more entries than {tree.Size}");

        const long index = 2;
        var (_, entry) = await server.GetAsync($"/v1/ledger/entries/{index}", server.Consumer);
        // RFC 9162 §2.1.1: a leaf hash is SHA-256(0x00 ‖ leaf bytes), worked out here from the entry's exact bytes.
        var leafHash = SHA256.HashData([0x00, .. Convert.FromBase64String(entry!["leaf"]!.GetValue<string>())]);
        Assert.Equal(leafHash, Hex(entry["leaf_hash"]));
        var (status, proof) = await server.GetAsync($"/v1/ledger/proofs/inclusion?index={index}&size={tree.Size}",
            server.Consumer);
        Assert.True(status == 200, proof?.ToJsonString());
        var path = proof!["path"]!.AsArray().Select(Hex).ToList();
        Assert.Equal(tree.Root, Hex(proof["root"]));
        Assert.True(ProofVerifier.VerifyInclusion(index, tree.Size, leafHash, path, tree.Root));
        // A proof for another leaf does not pass for this one.
        Assert.False(ProofVerifier.VerifyInclusion(index + 1, tree.Size, leafHash, path, tree.Root));

        var (_, byHash) = await server.GetAsync(
            $"/v1/ledger/proofs/inclusion?leaf_hash={Convert.ToHexStringLower(leafHash)}&size={tree.Size}",
            server.Consumer);
        Assert.Equal(index, byHash!["index"]!.GetValue<long>());
    }

    [Fact]
    public async Task ConsistencyProof_VerifiesBetweenTwoSignedSizes()
    {
        var (_, first) = await server.SendAsync(HttpMethod.Post, "/v1/ledger/checkpoint", server.Admin);
        long from = first!["tree_size"]!.GetValue<long>();
        // The log grows (a contributor registered), then a second checkpoint.
        var (created, _) = await server.PostAsync("/v1/contributors", server.Admin, new JsonObject { ["name"] = "carol" });
        Assert.Equal(201, created);
        var (_, second) = await server.SendAsync(HttpMethod.Post, "/v1/ledger/checkpoint", server.Admin);
        var older = Checkpoint.Parse(NoteText(first["note"]!));
        var newer = Checkpoint.Parse(NoteText(second!["note"]!));
        Assert.True(newer.Size > older.Size);
        var (status, proof) = await server.GetAsync($"/v1/ledger/proofs/consistency?from={from}&to={newer.Size}",
            server.Trainer);
        Assert.True(status == 200, proof?.ToJsonString());
        var path = proof!["path"]!.AsArray().Select(Hex).ToList();
        Assert.True(ProofVerifier.VerifyConsistency(older.Size, newer.Size, path, older.Root, newer.Root));
        Assert.False(ProofVerifier.VerifyConsistency(older.Size, newer.Size, path, newer.Root, newer.Root));
    }

    /// <summary>The checkpoint body of a signed note: the lines before the blank line that starts the signatures.
    /// </summary>
    private static string NoteText(JsonNode note)
    {
        var text = note.GetValue<string>();
        return text[..(text.IndexOf("\n\n", StringComparison.Ordinal) + 1)];
    }

    [Fact]
    public async Task Entries_ArePaged()
    {
        var (_, page) = await server.GetAsync("/v1/ledger/entries?from=1&limit=2", server.Consumer);
        var entries = page!["data"]!.AsArray();
        Assert.Equal([1L, 2L], entries.Select(e => e!["index"]!.GetValue<long>()));
        Assert.Equal(3, page["next"]!.GetValue<long>());
        var (_, all) = await server.GetAsync("/v1/ledger/entries?limit=1000", server.Consumer);
        Assert.Null(all!["next"]);
        Assert.Equal((long)all["data"]!.AsArray().Count,
            (await server.GetAsync("/v1/ledger", server.Consumer)).Body!["tree_size"]!.GetValue<long>());
    }

    [Fact]
    public async Task Routes_RefuseBadRequestsAndRoles()
    {
        Assert.Equal(403, (await server.SendAsync(HttpMethod.Post, "/v1/ledger/checkpoint", server.Trainer)).Status);
        var (status, body) = await server.GetAsync("/v1/ledger/proofs/inclusion?index=100000", server.Consumer);
        Assert.Equal(400, status);
        Assert.Contains("outside", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(400, (await server.GetAsync("/v1/ledger/entries?limit=0", server.Consumer)).Status);
        Assert.Equal(400, (await server.GetAsync("/v1/ledger/entries?from=x", server.Consumer)).Status);
        Assert.Equal(404, (await server.GetAsync($"/v1/ledger/entries/by-hash/{new string('0', 64)}",
            server.Consumer)).Status);
    }
}
