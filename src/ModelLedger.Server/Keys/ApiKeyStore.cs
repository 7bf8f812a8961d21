using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Storage;
using Npgsql;

namespace ModelLedger.Server.Keys;

/// <summary>What a key may do. Every role may call completions (billed to its account); only admin manages keys and
/// reads any inference's attribution.</summary>
public enum KeyRole { Admin, Trainer, Contributor, Consumer }

/// <summary>A key as stored (never its secret): id, role, the ledger account it bills, when it was made.</summary>
public sealed record ApiKey(string Id, KeyRole Role, string Account, DateTimeOffset Created, bool Revoked);

/// <summary>
/// API keys in the workspace database (table <c>server_keys</c>, SQLite or PostgreSQL). A key reads
/// <c>mlk-ID-SECRET</c>: ID finds the row, SECRET (32 random bytes, base64url) is stored only as its SHA-256 and
/// compared in constant time. A fast hash is enough because the secret is random, not a password. Each key bills a
/// ledger account that must exist when the key is made. Serialises its own use of the one connection (thread-safe).
/// </summary>
public sealed class ApiKeyStore : IDisposable
{
    private const string Prefix = "mlk";
    private readonly DbConnection _connection;
    private readonly LedgerWorkspace _workspace;
    private readonly Lock _lock = new();

    private readonly bool _ownsWorkspace;

    private ApiKeyStore(LedgerWorkspace workspace, DbConnection connection, bool ownsWorkspace)
    {
        (_workspace, _connection, _ownsWorkspace) = (workspace, connection, ownsWorkspace);
        _connection.Open();
        _connection.Execute("""
            CREATE TABLE IF NOT EXISTS server_keys (id TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL, role TEXT NOT NULL,
                account TEXT NOT NULL, created TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)
            """);
    }

    /// <summary>Opens the key table of a workspace; disposing the store disposes the workspace when it owns it.
    /// </summary>
    public static ApiKeyStore Open(LedgerWorkspace workspace, bool ownsWorkspace = false) => new(workspace,
        workspace.SqlitePath is string path
            ? new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false,
                DefaultTimeout = 60 }.ToString())
            : new NpgsqlConnection(workspace.PostgresConnection), ownsWorkspace);

    /// <summary>Makes a key; the returned text is the only time the secret exists outside the caller.</summary>
    public (ApiKey Key, string Text) Create(KeyRole role, string account, DateTimeOffset now)
    {
        if (_workspace.Store.ReadAccounts().All(a => a.Id != account))
            throw new UserError($"account '{account}' does not exist in this workspace", field: "--account",
                hint: $"mledger ledger account create --id {account}");
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var key = new ApiKey(id, role, account, now, false);
        lock (_lock)
            _connection.Execute("INSERT INTO server_keys (id, secret_sha256, role, account, created) " +
                "VALUES (@id, @hash, @role, @account, @created)", null, ("id", id), ("hash", Hash(secret)),
                ("role", RoleName(role)), ("account", account),
                ("created", now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)));
        return (key, $"{Prefix}-{id}-{secret}");
    }

    /// <summary>The live key a presented text names, or null (malformed, unknown, revoked or wrong secret).</summary>
    public ApiKey? Find(string presented)
    {
        var parts = presented.Split('-', 3);
        if (parts.Length != 3 || parts[0] != Prefix || parts[1].Length != 12) return null;
        var (key, hash) = Read(parts[1]);
        if (key is null || key.Revoked) return null;
        bool match = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash!),
            Encoding.ASCII.GetBytes(Hash(parts[2])));
        return match ? key : null;
    }

    public IReadOnlyList<ApiKey> List()
    {
        lock (_lock)
        {
            using var cmd = _connection.Command("SELECT id, role, account, created, revoked FROM server_keys ORDER BY created, id", null);
            using var r = cmd.ExecuteReader();
            var keys = new List<ApiKey>();
            while (r.Read()) keys.Add(Row(r));
            return keys;
        }
    }

    /// <summary>Revokes a key by id; false when there is no such key.</summary>
    public bool Revoke(string id)
    {
        lock (_lock)
        {
            using var cmd = _connection.Command("UPDATE server_keys SET revoked = 1 WHERE id = @id", null, ("id", id));
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    private (ApiKey? Key, string? Hash) Read(string id)
    {
        lock (_lock)
        {
            using var cmd = _connection.Command("SELECT id, role, account, created, revoked, secret_sha256 " +
                "FROM server_keys WHERE id = @id", null, ("id", id));
            using var r = cmd.ExecuteReader();
            return r.Read() ? (Row(r), r.GetString(5)) : (null, null);
        }
    }

    private static ApiKey Row(DbDataReader r) => new(r.GetString(0), ParseRole(r.GetString(1)), r.GetString(2),
        DateTimeOffset.Parse(r.GetString(3), CultureInfo.InvariantCulture), Convert.ToInt64(r.GetValue(4),
            CultureInfo.InvariantCulture) != 0);

    public static string RoleName(KeyRole role) => role.ToString().ToLowerInvariant();

    public static KeyRole ParseRole(string text) => text switch
    {
        "admin" => KeyRole.Admin,
        "trainer" => KeyRole.Trainer,
        "contributor" => KeyRole.Contributor,
        "consumer" => KeyRole.Consumer,
        _ => throw new UserError($"unknown role '{text}'", field: "--role", hint: "admin, trainer, contributor or consumer"),
    };

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-')
        .Replace('/', '_');

    public void Dispose()
    {
        _connection.Dispose();
        if (_ownsWorkspace) _workspace.Dispose();
    }
}
