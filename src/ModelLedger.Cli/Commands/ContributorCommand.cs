using System.CommandLine;
using System.Text.Json.Nodes;
using ModelLedger.Datanets.Storage;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger contributor create|list</c>: Ed25519 identities that sign datanet contributions.</summary>
internal static class ContributorCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Required = true, Description = "Contributor name (A-Z a-z 0-9 . _ -)" };
        var create = DatanetOptions.Verb("create", "Create a key pair (0600, never replaced) and register it", (p, service) =>
        {
            var row = service.CreateContributor(p.GetValue(name)!);
            DatanetOptions.Print(p, Json(row), $"{row.Name}\t{row.KeyId}\t{row.PublicKey}");
            return ExitCodes.Ok;
        }, name);
        var list = DatanetOptions.Verb("list", "Registered contributors", (p, service) =>
        {
            var rows = service.Store.Contributors();
            DatanetOptions.Print(p, new JsonObject { ["contributors"] = new JsonArray([.. rows.Select(Json)]) },
                string.Join('\n', rows.Select(r => $"{r.Name}\t{r.KeyId}\t{r.PublicKey}")));
            return ExitCodes.Ok;
        });
        return new Command("contributor", "Contributors who sign datanet records") { create, list };
    }

    private static JsonObject Json(ContributorRow row) =>
        new() { ["name"] = row.Name, ["public_key"] = row.PublicKey, ["key_id"] = row.KeyId };
}
