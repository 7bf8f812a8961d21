using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Server.Billing;
using ModelLedger.Server.Jobs;
using ModelLedger.Server.Keys;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Management;

/// <summary>
/// Routes of a billing server beyond OpenAI's: the management API (served models, datanets, jobs, ledger, rewards;
/// roles in <see cref="Access"/>), <c>GET /v1/inferences/{id}/attribution</c>
/// (<see cref="AttributionEndpoint"/>) and <c>POST /v1/keys</c> <c>{"role","account"}</c> (admin only; answers the new key once).
/// </summary>
internal static class ManagementEndpoints
{
    public static void MapManagement(this IEndpointRouteBuilder app)
    {
        app.MapServedModels();
        app.MapDatanets();
        app.MapJobs();
        app.MapLedger();
        app.MapRewards();
        app.MapInferenceAttribution();
        app.MapPost("/v1/keys", async (HttpContext http, Admission admission, ApiKeyStore keys) =>
        {
            var caller = admission.Authenticate(http)!;
            if (caller.Role != KeyRole.Admin) throw ApiError.Forbidden("only an admin key may create keys");
            var body = await RequestReading.BodyAsync<JsonObject>(http.Request, 4096, http.RequestAborted);
            var role = Text(body, "role");
            var account = Text(body, "account");
            KeyRole parsed;
            try { parsed = ApiKeyStore.ParseRole(role); }
            catch (UserError e) { throw ApiError.BadRequest(e.Message + $" ({e.Hint})", "role"); }
            try
            {
                var (key, text) = keys.Create(parsed, account, DateTimeOffset.UtcNow);
                await CompletionHandler.WriteJsonAsync(http.Response, new JsonObject
                {
                    ["id"] = key.Id, ["role"] = role, ["account"] = account, ["key"] = text,
                }, StatusCodes.Status201Created);
            }
            catch (UserError e) { throw ApiError.BadRequest(e.Message, "account"); }
        }).WithTags("keys").WithSummary("Make an API key {role, account}; the secret is answered once (admin)");
    }

    private static string Text(JsonObject body, string field) =>
        body[field] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
        : throw ApiError.BadRequest($"{field} must be a string", field);
}
