using System.Data.Common;

namespace ModelLedger.Ledger.Storage;

/// <summary>
/// Hot statements (lookups by key, single-row inserts and updates) prepared once per connection and re-bound on each
/// use: preparing costs more than running them, and a billing group runs several per request. The commands stay owned
/// by this cache (callers never dispose them); a command's reader must be closed before its next use. A statement's
/// parameters are bound by position, so every use of one SQL text passes them in the same order. Not thread-safe
/// (one per connection); dispose with the connection.
/// </summary>
public sealed class PreparedCommands(DbConnection connection) : IDisposable
{
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

    public DbCommand Get(string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        if (!_commands.TryGetValue(sql, out var cmd)) return _commands[sql] = connection.Command(sql, tx, parameters);
        cmd.Transaction = tx;
        for (int i = 0; i < parameters.Length; i++) cmd.Parameters[i].Value = parameters[i].Value ?? DBNull.Value;
        return cmd;
    }

    public int Execute(string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters) =>
        Get(sql, tx, parameters).ExecuteNonQuery();

    public object? Scalar(string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters) =>
        Get(sql, tx, parameters).ExecuteScalar();

    public void Dispose()
    {
        foreach (var cmd in _commands.Values) cmd.Dispose();
        _commands.Clear();
    }
}
