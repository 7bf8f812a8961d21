using System.Text.Json.Nodes;
using ModelLedger.Datanets;
using ModelLedger.Datanets.Storage;
using ModelLedger.Rewards;
using ModelLedger.Server.Billing;
using ModelLedger.Server.Keys;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Management;

/// <summary>Datanets over <see cref="DatanetService"/>: contributors, datanets, contributions (JSON records or file
/// upload, answered per record) and snapshots. Every rule (validation, signatures, dedup, quotas) is the service's.
/// </summary>
internal static class DatanetEndpoints
{
    public static void MapDatanets(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("datanets");
        group.MapGet("/contributors", async (HttpContext http, MeteringPool pool) =>
        {
            Access.Require(http, "list contributors", Access.Anyone);
            var rows = await pool.UseAsync(l => l.Datanets.Store.Contributors());
            return Results.Json(new JsonObject { ["data"] = new JsonArray([.. rows.Select(Contributor)]) });
        }).WithSummary("List registered contributors (name, public key, key id, ledger leaf hash)");
        group.MapPost("/contributors", async (HttpContext http, MeteringPool pool, ServerOptions options) =>
        {
            Access.Require(http, "register contributors", Access.Admins);
            var name = Field.Text(await Field.ObjectAsync(http, options), "name");
            var row = await pool.UseAsync(l => l.Datanets.CreateContributor(name));
            return Results.Json(Contributor(row), statusCode: StatusCodes.Status201Created);
        }).WithSummary("Register a contributor: creates its signing key in the workspace and a ledger entry (admin)");
        group.MapGet("/datanets", async (HttpContext http, MeteringPool pool) =>
        {
            Access.Require(http, "list datanets", Access.Anyone);
            var rows = await pool.UseAsync(l => l.Datanets.Store.Datanets());
            return Results.Json(new JsonObject { ["data"] = new JsonArray([.. rows.Select(Datanet)]) });
        }).WithSummary("List datanets");
        group.MapPost("/datanets", CreateAsync)
            .WithSummary("Create a datanet {name, format, license?, description?, quota?, near_dup_threshold?}");
        group.MapGet("/datanets/{name}", ShowAsync)
            .WithSummary("A datanet: settings, accepted items per contributor, rejections per reason, snapshots");
        group.MapPost("/datanets/{name}/contributions", ContributionEndpoint.SubmitAsync).WithSummary(
            "Contribute records (JSON {contributor, records} or multipart files + contributor): each record " +
            "accepted with its item id, or rejected with a code, reason and duplicate_of");
        group.MapPost("/datanets/{name}/snapshot", SnapshotAsync).WithSummary(
            "Freeze the accepted items as a snapshot (idempotent) and write its folder under the workspace");
    }

    private static async Task<IResult> CreateAsync(HttpContext http, MeteringPool pool, ServerOptions options)
    {
        Access.Require(http, "create datanets", Access.Trainers);
        var body = await Field.ObjectAsync(http, options);
        var name = Field.Text(body, "name");
        var format = Field.Text(body, "format");
        DatanetFormat parsed;
        try { parsed = DatanetFormats.Parse(format); }
        catch (UserError e) { throw ApiError.BadRequest(e.Message, "format"); }
        var row = await pool.UseAsync(l => l.Datanets.CreateDatanet(name, parsed, Field.OptionalText(body, "license"),
            Field.OptionalText(body, "description"), Field.OptionalLong(body, "quota"),
            Field.OptionalDouble(body, "near_dup_threshold") ?? DatanetService.DefaultNearDupThreshold));
        return Results.Json(Datanet(row), statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ShowAsync(HttpContext http, string name, MeteringPool pool)
    {
        Access.Require(http, "read datanets", Access.Anyone);
        var answer = await pool.UseAsync(l =>
        {
            var store = Require(l.Datanets, name).Store;
            var o = Datanet(store.RequireDatanet(name));
            o["items"] = store.ItemCount(name);
            o["contributors"] = new JsonObject(store.ItemsPerContributor(name)
                .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
            o["rejections"] = new JsonArray([.. store.RejectionCounts(name).Select(r => (JsonNode)new JsonObject
            {
                ["contributor"] = r.Contributor, ["code"] = r.Code, ["count"] = r.Count,
            })]);
            o["snapshots"] = new JsonArray([.. store.Snapshots(name).Select(Snapshot)]);
            return o;
        });
        return Results.Json(answer);
    }

    private static async Task<IResult> SnapshotAsync(HttpContext http, string name, MeteringPool pool)
    {
        Access.Require(http, "snapshot datanets", Access.Trainers);
        var answer = await pool.UseAsync(l =>
        {
            var service = Require(l.Datanets, name);
            var (root, _, recorded) = service.Current(name);
            // One folder per root: a repeated call finds the folder of the same items and writes nothing.
            var folder = Path.Combine(l.Workspace.Directory, "snapshots", name, root);
            var row = recorded is not null && File.Exists(Path.Combine(folder, "snapshot.json")) ? recorded
                : service.Snapshot(name, folder);
            var o = Snapshot(row);
            o["folder"] = Path.GetFullPath(folder);
            return o;
        });
        return Results.Json(answer);
    }

    /// <summary>The service when the datanet exists; else a 404.</summary>
    internal static DatanetService Require(DatanetService service, string name) =>
        service.Store.Datanet(name) is not null ? service
            : throw ApiError.NotFound($"no datanet named '{name}'", "datanet_not_found");

    /// <summary>May this key contribute as <paramref name="contributor"/>? An admin as anyone; a contributor key only
    /// as the contributor whose reward account it bills (<c>contributor:NAME</c>).</summary>
    internal static void CheckContributor(ApiKey caller, string contributor)
    {
        if (caller.Role == KeyRole.Admin || caller.Account == RewardAccounts.Contributor(contributor)) return;
        throw ApiError.Forbidden($"this key bills {caller.Account}, so it may contribute only as the contributor of " +
            $"that account, not as '{contributor}'");
    }

    private static JsonNode Contributor(ContributorRow c) => new JsonObject
    {
        ["name"] = c.Name, ["public_key"] = c.PublicKey, ["key_id"] = c.KeyId, ["leaf_hash"] = c.LeafHash,
        ["created"] = c.Created,
    };

    private static JsonObject Datanet(DatanetRow d) => new()
    {
        ["name"] = d.Name, ["format"] = d.Format.Name(), ["license"] = d.License, ["description"] = d.Description,
        ["quota"] = d.Quota, ["near_dup_threshold"] = d.NearDupThreshold, ["leaf_hash"] = d.LeafHash,
        ["created"] = d.Created,
    };

    private static JsonObject Snapshot(SnapshotRow s) => new()
    {
        ["datanet"] = s.Datanet, ["root"] = s.Root, ["items"] = s.Items, ["leaf_hash"] = s.LeafHash,
        ["created"] = s.Created,
    };
}
