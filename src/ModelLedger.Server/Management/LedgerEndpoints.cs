using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Log;
using ModelLedger.Server.Billing;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Management;

/// <summary>The ledger as a client needs it to check the server: the log's head and verifier key, entries (paged,
/// by index, by leaf hash), signed checkpoints, and RFC 9162 inclusion and consistency proofs, in the wire shapes of
/// <see cref="LedgerJson"/> (the CLI's <c>mledger ledger prove/consistency --json</c>).</summary>
internal static class LedgerEndpoints
{
    private const int MaxPage = 1000;

    public static void MapLedger(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/ledger").WithTags("ledger");
        group.MapGet("", (HttpContext http, MeteringPool pool) => Read(http, pool, ws =>
        {
            long size = ws.Service.Size;
            return new JsonObject
            {
                ["origin"] = ws.Origin, ["tree_size"] = size,
                ["root"] = size == 0 ? null : LedgerService.Hex(ws.Service.Root(size)),
                ["verifier_key"] = ws.Signer.VerifierKey,
            };
        })).WithSummary("The log's origin, size, current root and the verifier key of its checkpoints");
        group.MapGet("/entries", (HttpContext http, MeteringPool pool, long? from, int? limit) =>
        {
            if (from is < 0) throw ApiError.BadRequest("from must be ≥ 0", "from");
            if (limit is < 1 or > MaxPage) throw ApiError.BadRequest($"limit must be 1..{MaxPage}", "limit");
            return Read(http, pool, ws =>
            {
                var entries = ws.Store.ReadEntries(from ?? 0).Take(limit ?? 100).Select(e => (JsonNode)Entry(e.Index,
                    e.Leaf)).ToList();
                long next = (from ?? 0) + entries.Count;
                return new JsonObject
                {
                    ["data"] = new JsonArray([.. entries]), ["next"] = next < ws.Store.Count() ? next : null,
                };
            });
        }).WithSummary("Entries from ?from= (default 0), at most ?limit= (default 100, max 1000); next is the " +
            "following page's from, or null");
        group.MapGet("/entries/{index:long}", (HttpContext http, MeteringPool pool, long index) => Read(http, pool, ws =>
            Entry(index, ws.Service.Read(index).Leaf)))
            .WithSummary("One entry: index, leaf hash, the exact leaf bytes (base64) and the decoded event");
        group.MapGet("/entries/by-hash/{leafHash}", (HttpContext http, MeteringPool pool, string leafHash) =>
            Read(http, pool, ws => ws.Service.IndexOf(leafHash.ToLowerInvariant()) is long index
                ? Entry(index, ws.Service.Read(index).Leaf)
                : throw ApiError.NotFound($"no entry has leaf hash {leafHash}", "entry_not_found")))
            .WithSummary("The entry with this leaf hash (hex)");
        group.MapGet("/checkpoint", (HttpContext http, MeteringPool pool) => Read(http, pool, ws =>
            ws.Store.ReadCheckpoints() is { Count: > 0 } all ? Checkpoint(all[^1].Size, all[^1].Note)
            : throw ApiError.NotFound("no checkpoint has been signed yet (POST /v1/ledger/checkpoint)",
                "checkpoint_not_found")))
            .WithSummary("The latest signed checkpoint (C2SP signed note) and its tree size");
        group.MapPost("/checkpoint", async (HttpContext http, MeteringPool pool) =>
        {
            Access.Require(http, "sign checkpoints", Access.Admins);
            return Results.Json(await pool.UseAsync(l => Checkpoint(l.Workspace.Service.Size,
                l.Workspace.Service.Checkpoint(l.Workspace.Signer, l.Workspace.Origin))),
                statusCode: StatusCodes.Status201Created);
        }).WithSummary("Sign and store a checkpoint of the current tree (admin)");
        group.MapGet("/proofs/inclusion", (HttpContext http, MeteringPool pool, long? index,
            [FromQuery(Name = "leaf_hash")] string? leafHash, long? size) => Read(http, pool, ws =>
        {
            long at = (index, leafHash) switch
            {
                (long i, null) => i,
                (null, string h) => ws.Service.IndexOf(h.ToLowerInvariant())
                    ?? throw ApiError.NotFound($"no entry has leaf hash {h}", "entry_not_found"),
                _ => throw ApiError.BadRequest("give exactly one of index or leaf_hash", "index"),
            };
            long treeSize = size ?? ws.Service.Size;
            var (hash, path, root) = ws.Service.Prove(at, treeSize);
            return LedgerJson.Inclusion(at, treeSize, hash, path, root);
        })).WithSummary("RFC 9162 inclusion proof of an entry (?index= or ?leaf_hash=) in the tree of ?size= " +
            "(default: the current log)");
        group.MapGet("/proofs/consistency", (HttpContext http, MeteringPool pool, long from, long? to) =>
            Read(http, pool, ws =>
            {
                long toSize = to ?? ws.Service.Size;
                var (path, fromRoot, toRoot) = ws.Service.Consistency(from, toSize);
                return LedgerJson.Consistency(from, toSize, path, fromRoot, toRoot);
            })).WithSummary("RFC 9162 consistency proof that the tree of ?from= is a prefix of the tree of ?to= " +
                "(default: the current log)");
    }

    /// <summary>A read any key may make, on a pooled workspace.</summary>
    internal static async Task<IResult> Read(HttpContext http, MeteringPool pool, Func<LedgerWorkspace, JsonNode> read)
    {
        Access.Require(http, "read the ledger", Access.Anyone);
        return Results.Json(await pool.UseAsync(l => read(l.Workspace)));
    }

    private static JsonObject Entry(long index, string leaf)
    {
        var o = LedgerJson.ExportLine(index, leaf);
        o["leaf_hash"] = LedgerService.Hex(MerkleHash.Leaf(EntryRules.Bytes(leaf)));
        return o;
    }

    private static JsonObject Checkpoint(long size, string note) => new() { ["tree_size"] = size, ["note"] = note };
}
