using ModelLedger.Server.Keys;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Management;

/// <summary>Who may call a management route (docs/server.md has the table). Reading the ledger, rewards, datanets and
/// what is served is open to every key: the ledger is a public, verifiable log, so hiding its projections would only
/// pretend. Writing is by role: admin everything; trainer datanets, snapshots and jobs; contributor its own
/// contributions; consumer nothing beyond completions.</summary>
internal static class Access
{
    public static readonly KeyRole[] Anyone = [KeyRole.Admin, KeyRole.Trainer, KeyRole.Contributor, KeyRole.Consumer];
    public static readonly KeyRole[] Trainers = [KeyRole.Admin, KeyRole.Trainer];
    public static readonly KeyRole[] Contributors = [KeyRole.Admin, KeyRole.Contributor];
    public static readonly KeyRole[] Admins = [KeyRole.Admin];

    /// <summary>The caller's key (401 without a live one, 429 over its rate) when its role is one of
    /// <paramref name="roles"/>; else a 403 naming what was refused and which roles may do it.</summary>
    public static ApiKey Require(HttpContext http, string action, KeyRole[] roles)
    {
        var caller = http.RequestServices.GetRequiredService<Admission>().Authenticate(http)
            ?? throw new InvalidOperationException("the management API is only mapped on a server with API keys");
        if (roles.Contains(caller.Role)) return caller;
        throw ApiError.Forbidden($"a {ApiKeyStore.RoleName(caller.Role)} key may not {action} " +
            $"(allowed: {string.Join(", ", roles.Select(ApiKeyStore.RoleName))})");
    }
}
