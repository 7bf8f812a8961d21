using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger;

/// <summary>
/// A ledger workspace folder: <c>ledger.json</c> (origin, optional PostgreSQL connection string), <c>log.key</c>
/// (the Ed25519 log key, mode 0600, written once by init and never replaced) and <c>ledger.db</c> (SQLite, the
/// embedded default). Owns the store and the signer.
/// </summary>
public sealed class LedgerWorkspace : IDisposable
{
    private const string ConfigFile = "ledger.json", KeyFile = "log.key", DatabaseFile = "ledger.db";

    public string Directory { get; }
    public string Origin { get; }
    public NoteSigner Signer { get; }
    public ILedgerStore Store { get; }
    public LedgerService Service { get; }
    /// <summary>The SQLite database file, or null when the workspace uses PostgreSQL. Other projects (datanets,
    /// rewards) open it on their own connection for their prefixed tables.</summary>
    public string? SqlitePath { get; }
    /// <summary>The PostgreSQL connection string, or null when the workspace uses SQLite.</summary>
    public string? PostgresConnection { get; }

    private LedgerWorkspace(string directory, string origin, NoteSigner signer, ILedgerStore store, string? sqlitePath, string? postgres)
    {
        (Directory, Origin, Signer, Store, SqlitePath, PostgresConnection) = (directory, origin, signer, store, sqlitePath, postgres);
        Service = new LedgerService(store);
    }

    public static LedgerWorkspace Init(string directory, string origin, string? db)
    {
        var keyPath = Path.Combine(directory, KeyFile);
        if (File.Exists(keyPath) || File.Exists(Path.Combine(directory, ConfigFile)))
            throw new LedgerError($"{directory} is already a ledger workspace; its key is kept (init never replaces it)");
        System.IO.Directory.CreateDirectory(directory);
        using (var signer = NoteSigner.Create(origin))
        {
            // Create the file 0600 before writing the secret into it.
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var stream = new FileStream(keyPath, options);
            using var writer = new StreamWriter(stream);
            writer.WriteLine(signer.SignerKey);
        }
        var config = new JsonObject { ["version"] = 1, ["origin"] = origin, ["db"] = db };
        File.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return Open(directory, db);
    }

    public static LedgerWorkspace Open(string directory, string? db)
    {
        var configPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(configPath)) throw new LedgerError($"{directory} is not a ledger workspace (run: mledger ledger init --workspace {directory} --origin NAME)");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        var origin = config["origin"]!.GetValue<string>();
        var signer = NoteSigner.FromSignerKey(File.ReadAllText(Path.Combine(directory, KeyFile)));
        var connection = db ?? config["db"]?.GetValue<string>();
        var sqlitePath = connection is null ? Path.Combine(directory, DatabaseFile) : null;
        var store = sqlitePath is not null ? SqlLedgerStore.OpenSqlite(sqlitePath) : SqlLedgerStore.OpenPostgres(connection!);
        return new LedgerWorkspace(directory, origin, signer, store, sqlitePath, connection);
    }

    public void Dispose()
    {
        Store.Dispose();
        Signer.Dispose();
    }
}
