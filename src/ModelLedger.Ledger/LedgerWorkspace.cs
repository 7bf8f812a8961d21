using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using System.Text.Json.Nodes;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;
using Npgsql;

namespace ModelLedger.Ledger;

/// <summary>
/// A ledger workspace folder: <c>ledger.json</c> (version, origin, backend), <c>log.key</c> (the Ed25519 log key,
/// mode 0600, written once by init and never replaced), and either <c>ledger.db</c> (SQLite, the embedded default)
/// or, for PostgreSQL, <c>db.connection</c> (the connection string, mode 0600, since it may hold a password; the
/// <c>MLEDGER_DB</c> environment variable or an explicit connection string take precedence). Owns the store and the
/// signer. Opening never writes to the database.
/// </summary>
public sealed class LedgerWorkspace : IDisposable
{
    private const string ConfigFile = "ledger.json", KeyFile = "log.key", DatabaseFile = "ledger.db", ConnectionFile = "db.connection";

    /// <summary>Environment variable holding the PostgreSQL connection string of a PostgreSQL workspace.</summary>
    public const string ConnectionVariable = "MLEDGER_DB";

    public string Directory { get; }
    public string Origin { get; }
    public NoteSigner Signer { get; }
    public ILedgerStore Store { get; }
    public LedgerService Service { get; }
    /// <summary>The SQLite database file, or null when the workspace uses PostgreSQL.</summary>
    public string? SqlitePath { get; }
    /// <summary>The PostgreSQL connection string, or null when the workspace uses SQLite.</summary>
    public string? PostgresConnection { get; }

    private LedgerWorkspace(string directory, string origin, NoteSigner signer, ILedgerStore store, string? sqlitePath, string? postgres)
    {
        (Directory, Origin, Signer, Store, SqlitePath, PostgresConnection) = (directory, origin, signer, store, sqlitePath, postgres);
        Service = new LedgerService(store);
    }

    /// <summary>Creates a workspace atomically: everything (key, config, database schema) is built in a hidden folder
    /// beside <paramref name="directory"/> and renamed into place only when complete, so a killed or failed init
    /// leaves no half workspace. <paramref name="directory"/> must not exist or be empty.</summary>
    public static LedgerWorkspace Init(string directory, string origin, string? db)
    {
        NoteFormat.CheckName(origin);
        var full = Path.GetFullPath(directory);
        if (File.Exists(full)) throw new LedgerError($"{directory} is a file; init needs a new or empty folder");
        if (File.Exists(Path.Combine(full, ConfigFile)))
            throw new LedgerError($"{directory} is already a ledger workspace; its key is kept (init never replaces it)");
        if (System.IO.Directory.Exists(full) && System.IO.Directory.EnumerateFileSystemEntries(full).Any())
            throw new LedgerError($"{directory} is not empty and is not a ledger workspace; init needs a new or empty folder");
        var parent = Path.GetDirectoryName(full)!;
        System.IO.Directory.CreateDirectory(parent);
        RemoveStaleLeftovers(parent, Path.GetFileName(full));
        var temp = Path.Combine(parent, $".{Path.GetFileName(full)}.init-{Guid.NewGuid():N}");
        try
        {
            Build(temp, origin, db);
            if (System.IO.Directory.Exists(full)) System.IO.Directory.Delete(full);   // empty (checked above); non-recursive
            System.IO.Directory.Move(temp, full);
        }
        catch
        {
            if (System.IO.Directory.Exists(temp)) System.IO.Directory.Delete(temp, recursive: true);
            throw;
        }
        return Open(full, db);
    }

    /// <summary>What an init writes into its hidden folder (SQLite adds its -wal/-shm/-journal files).</summary>
    private static readonly HashSet<string> InitFiles = new(StringComparer.Ordinal)
        { ConfigFile, KeyFile, DatabaseFile, ConnectionFile, DatabaseFile + "-wal", DatabaseFile + "-shm", DatabaseFile + "-journal" };

    /// <summary>An init writes its folder within a second or so; one untouched this long was left by a killed init.</summary>
    internal static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(1);

    /// <summary>Removes what killed inits of <paramref name="name"/> left in <paramref name="parent"/>: folders named
    /// exactly <c>.NAME.init-</c> + 32 hex digits (the name init gives them), holding only plain files that init
    /// writes, none changed within <see cref="StaleAfter"/> (an init running now is left alone). Anything else —
    /// another name, a subfolder, a link, a file init does not write — is never touched. The key in such a folder
    /// never signed anything: the workspace it belonged to was never renamed into place.</summary>
    private static void RemoveStaleLeftovers(string parent, string name)
    {
        var prefix = $".{name}.init-";
        foreach (var folder in new DirectoryInfo(parent).EnumerateDirectories())
        {
            var suffix = folder.Name.StartsWith(prefix, StringComparison.Ordinal) ? folder.Name[prefix.Length..] : "";
            if (suffix.Length != 32 || !suffix.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f') || folder.LinkTarget is not null)
                continue;
            var entries = folder.EnumerateFileSystemInfos().ToList();
            if (entries.Any(e => e is not FileInfo || e.LinkTarget is not null || !InitFiles.Contains(e.Name))) continue;
            if (entries.Select(e => e.LastWriteTimeUtc).Append(folder.LastWriteTimeUtc).Max() > DateTime.UtcNow - StaleAfter) continue;
            foreach (var e in entries) e.Delete();
            folder.Delete();   // non-recursive: fails rather than remove anything that appeared meanwhile
        }
    }

    private static void Build(string folder, string origin, string? db)
    {
        var info = System.IO.Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows()) info.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        using (var signer = NoteSigner.Create(origin)) WriteSecret(Path.Combine(folder, KeyFile), signer.SignerKey + "\n");
        var connection = db ?? null;
        if (connection is not null) WriteSecret(Path.Combine(folder, ConnectionFile), connection + "\n");
        using (connection is null ? SqlLedgerStore.OpenSqlite(Path.Combine(folder, DatabaseFile)) : SqlLedgerStore.OpenPostgres(connection)) { }
        var config = new JsonObject { ["version"] = 1, ["origin"] = origin, ["backend"] = connection is null ? "sqlite" : "postgres" };
        File.WriteAllText(Path.Combine(folder, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Creates the file 0600 before writing the secret into it.</summary>
    private static void WriteSecret(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }

    /// <summary>Opens a workspace made by <see cref="Init"/>; <paramref name="db"/>, when given, is a PostgreSQL
    /// connection string used instead of the workspace's own database.</summary>
    public static LedgerWorkspace Open(string directory, string? db)
    {
        var configPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(configPath))
            throw new LedgerError(System.IO.Directory.Exists(directory)
                ? $"{directory} is not a ledger workspace (no {ConfigFile}; run: mledger ledger init --workspace {directory} --origin NAME)"
                : $"{directory} is not a ledger workspace (the folder does not exist; run: mledger ledger init --workspace {directory} --origin NAME)");
        var (origin, backend, legacyDb) = ReadConfig(configPath);
        var signer = ReadKey(Path.Combine(directory, KeyFile), origin);
        try
        {
            var postgres = db ?? legacyDb ?? (backend == "postgres" ? PostgresFromEnvironmentOrFile(directory) : null);
            var sqlite = postgres is null ? Path.Combine(directory, DatabaseFile) : null;
            var store = sqlite is not null ? SqlLedgerStore.OpenSqlite(sqlite, createSchema: false) : SqlLedgerStore.OpenPostgres(postgres!, createSchema: false);
            return new LedgerWorkspace(directory, origin, signer, store, sqlite, postgres);
        }
        catch
        {
            signer.Dispose();
            throw;
        }
    }

    private static (string Origin, string Backend, string? LegacyDb) ReadConfig(string path)
    {
        try
        {
            var config = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new LedgerError($"{path}: not a JSON object");
            if (config["version"]?.GetValue<int>() != 1) throw new LedgerError($"{path}: version must be 1");
            var origin = config["origin"]?.GetValue<string>() ?? throw new LedgerError($"{path}: origin is missing");
            var backend = config["backend"]?.GetValue<string>() ?? "sqlite";
            if (backend is not ("sqlite" or "postgres")) throw new LedgerError($"{path}: backend must be sqlite or postgres (got '{backend}')");
            return (origin, backend, config["db"]?.GetValue<string>());   // "db": written by versions before db.connection
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new LedgerError($"{path}: not a valid workspace config ({e.Message})");
        }
    }

    private static NoteSigner ReadKey(string path, string origin)
    {
        if (!File.Exists(path)) throw new LedgerError($"{path} is missing: this workspace cannot sign (restore the key from a backup; init never replaces it)");
        NoteSigner signer;
        try { signer = NoteSigner.FromSignerKey(File.ReadAllText(path)); }
        catch (FormatException) { throw new LedgerError($"{path}: malformed signer key"); }
        catch (LedgerError e) { throw new LedgerError($"{path}: {e.Message}"); }
        if (signer.Name != origin)
        {
            signer.Dispose();
            throw new LedgerError($"{path}: the key is named '{signer.Name}' but the workspace origin is '{origin}'");
        }
        return signer;
    }

    private static string PostgresFromEnvironmentOrFile(string directory)
    {
        if (Environment.GetEnvironmentVariable(ConnectionVariable) is { Length: > 0 } fromEnvironment) return fromEnvironment;
        var path = Path.Combine(directory, ConnectionFile);
        return File.Exists(path) ? File.ReadAllText(path).Trim()
            : throw new LedgerError($"{directory} uses PostgreSQL but neither {ConnectionVariable} nor {path} gives the connection string");
    }

    /// <summary>A new open connection to the workspace's database, for the capability stores that keep their own
    /// tables beside the log (prefixes <c>datanet_</c>, <c>reward_</c>) on their own connection: SQLite with the log's
    /// settings (WAL, synchronous=FULL, a 60 s busy timeout) or PostgreSQL. The caller owns and disposes it. Throws
    /// <see cref="LedgerError"/> when the database cannot be opened.</summary>
    public DbConnection OpenDatabase()
    {
        if (SqlitePath is string path)
        {
            var sqlite = new SqliteConnection(new SqliteConnectionStringBuilder
                { DataSource = path, Pooling = false, DefaultTimeout = 60, Mode = SqliteOpenMode.ReadWrite }.ToString());
            try
            {
                sqlite.Open();
                sqlite.Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=60000;");
                return sqlite;
            }
            catch (SqliteException e)
            {
                sqlite.Dispose();
                throw new LedgerError($"{path}: cannot open the database ({e.Message})");
            }
        }
        NpgsqlConnection? postgres = null;
        try
        {
            postgres = new NpgsqlConnection(PostgresConnection);
            postgres.Open();
            return postgres;
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException)
        {
            postgres?.Dispose();
            throw new LedgerError($"cannot open PostgreSQL ({e.Message})");
        }
    }

    public void Dispose()
    {
        Store.Dispose();
        Signer.Dispose();
    }
}
