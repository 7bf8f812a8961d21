using System.Text;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Policy;
using ModelLedger.Rewards.Settlement;
using ModelLedger.Server.Billing;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Management;

/// <summary>Rewards: the fee policy in force (read by anyone, set by an admin as YAML, validated first), settlement
/// epochs (closed ones as recorded, the open one as a preview; an admin may settle) and account balances.</summary>
internal static class RewardEndpoints
{
    public static void MapRewards(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/rewards").WithTags("rewards");
        group.MapGet("/policy", async (HttpContext http, MeteringPool pool) =>
        {
            Access.Require(http, "read the policy", Access.Anyone);
            var (version, policy) = await pool.UseAsync(l =>
            {
                l.Tables.Sync(l.Workspace.Store);
                return l.Tables.LatestPolicy();
            }) ?? throw ApiError.NotFound("no fee policy is set in this workspace", "policy_not_found");
            return Results.Json(RewardsJson.Policy(version, policy));
        }).WithSummary("The fee policy in force and its version");
        group.MapPut("/policy", SetPolicyAsync)
            .WithSummary("Make a policy (YAML text, docs/rewards.md) the version in force; validated first (admin)");
        group.MapGet("/epochs", (HttpContext http, MeteringPool pool) => EpochsAsync(http, pool, null))
            .WithSummary("Every closed epoch as settled and the open one as a preview: per recipient accrued, paid " +
                "and withheld");
        group.MapGet("/epochs/{epoch:long}", (HttpContext http, MeteringPool pool, long epoch) =>
                EpochsAsync(http, pool, epoch))
            .WithSummary("One epoch (closed, or the open one as a preview)");
        group.MapPost("/epochs/{epoch:long}/settle", async (HttpContext http, MeteringPool pool,
            AttributionQueue attributions, long epoch) =>
        {
            var caller = Access.Require(http, "settle epochs", Access.Admins);
            await attributions.DrainAsync();   // this server's pending attributions belong in the epoch

            var (settlement, already) = await pool.UseAsync(l =>
                EpochSettler.Settle(l.Workspace, l.Tables, epoch, caller.Account));
            return Results.Json(RewardsJson.Epoch(settlement, already ? "closed" : "settled"));
        }).WithSummary("Close an epoch and pay from escrow (idempotent: a closed epoch is not paid twice; admin)");
        group.MapGet("/balances", (HttpContext http, MeteringPool pool) => LedgerEndpoints.Read(http, pool, ws =>
            LedgerJson.Balances(ws.Store.ReadAccounts())))
            .WithSummary("Every ledger account with its debits, credits and balance (decimal strings)");
    }

    private static async Task<IResult> SetPolicyAsync(HttpContext http, MeteringPool pool, ServerOptions options)
    {
        var caller = Access.Require(http, "set the policy", Access.Admins);
        var text = Encoding.UTF8.GetString(await RequestReading.BytesAsync(http.Request, options.Limits.MaxBodyBytes,
            http.RequestAborted));
        var policy = PolicyYaml.Read(text, "policy");   // every problem, before anything is written
        var (version, changed) = await pool.UseAsync(l => PolicyBook.Set(l.Workspace, l.Tables, policy,
            caller.Account));
        return Results.Json(new JsonObject { ["version"] = version, ["changed"] = changed });
    }

    private static async Task<IResult> EpochsAsync(HttpContext http, MeteringPool pool, long? epoch)
    {
        Access.Require(http, "read epochs", Access.Anyone);
        IReadOnlyList<(EpochSettlement Settlement, string State)> epochs;
        try { epochs = await pool.UseAsync(l => RewardsJson.Epochs(l.Workspace.Store, epoch)); }
        catch (UserError e) when (epoch is not null) { throw ApiError.NotFound(e.Message, "epoch_not_found"); }
        var rows = epochs.Select(r => RewardsJson.Epoch(r.Settlement, r.State)).ToList();
        return Results.Json(epoch is null ? new JsonObject { ["data"] = new JsonArray([.. rows]) } : rows[0]);
    }
}
