using System.Data.Common;

namespace ModelLedger.Ledger.Storage;

/// <summary>Parameterised commands on an open connection (SQLite or PostgreSQL), shared by the ledger store and the
/// capability stores (datanets, rewards) that keep their tables in the same database. A null value binds as NULL.
/// </summary>
public static class DbCommands
{
    public static DbCommand Command(this DbConnection connection, string sql, DbTransaction? tx,
        params (string Name, object? Value)[] parameters)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    public static void Execute(this DbConnection connection, string sql, DbTransaction? tx = null,
        params (string Name, object? Value)[] parameters)
    {
        using var cmd = connection.Command(sql, tx, parameters);
        cmd.ExecuteNonQuery();
    }
}
