using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Server.Keys;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Billing;

/// <summary><c>GET /v1/inferences/{id}/attribution</c> (the id as the completion answered it, with or without its
/// <c>chatcmpl-</c>/<c>cmpl-</c> prefix), for the inference's caller or an admin: 404 for an inference that was never
/// billed; 202 <c>{"status":"pending"}</c> while its attribution is still computed in the background; then 200 with
/// the <c>inference</c> and <c>attribution</c> events as the ledger holds them (with their entry indexes) and the
/// accruals its fee split into.</summary>
internal static class AttributionEndpoint
{
    public static void MapInferenceAttribution(this IEndpointRouteBuilder app) =>
        app.MapGet("/v1/inferences/{id}/attribution", async (HttpContext http, string id, Admission admission,
            MeteringPool meters) =>
        {
            var caller = admission.Authenticate(http)!;
            var inference = id.StartsWith("chatcmpl-", StringComparison.Ordinal) ? id["chatcmpl-".Length..]
                : id.StartsWith("cmpl-", StringComparison.Ordinal) ? id["cmpl-".Length..] : id;
            var answer = await meters.UseAsync(m => Read(m, inference))
                ?? throw ApiError.NotFound($"no billed inference '{inference}'", "inference_not_found");
            var payer = answer["event"]?["caller"]?.GetValue<string>();
            if (caller.Role != KeyRole.Admin && payer != caller.Account)
                throw ApiError.Forbidden("only the inference's caller or an admin may read its attribution");
            return Results.Json(answer, statusCode: answer["status"]!.GetValue<string>() == "pending"
                ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
        }).WithTags("billing").WithSummary("A billed inference's attribution: 202 pending while it is computed in " +
            "the background, then its inference and attribution events and the accruals its fee split into " +
            "(its caller or an admin)");

    /// <summary>The answer from the log itself (both events found by their client ids) and the reward tables
    /// (accruals, synced first); null when the inference was never billed.</summary>
    private static JsonObject? Read(MeteringPool.Lease m, string inference)
    {
        var ledger = m.Workspace.Service;
        if (ledger.FindClientId($"inference:{inference}") is not var (index, entry, leaf)) return null;
        var answer = new JsonObject
        {
            ["inference"] = inference, ["event"] = JsonNode.Parse(entry.Payload), ["entry"] = index,
            ["leaf_hash"] = leaf,
        };
        if (ledger.FindClientId($"attribution:{inference}") is not var (aIndex, aEntry, aLeaf))
        {
            answer["status"] = "pending";
            return answer;
        }
        m.Tables.Sync(m.Workspace.Store);
        answer["status"] = "done";
        answer["attribution"] = new JsonObject
        {
            ["event"] = JsonNode.Parse(aEntry.Payload), ["entry"] = aIndex, ["leaf_hash"] = aLeaf,
        };
        answer["accruals"] = new JsonArray([.. m.Tables.ReadAccruals().Where(a => a.Inference == inference).Select(a =>
            new JsonObject
            {
                ["role"] = a.Role, ["account"] = a.Account, ["source"] = a.Source,
                ["amount"] = a.Amount.ToString(CultureInfo.InvariantCulture),
            })]);
        return answer;
    }
}
