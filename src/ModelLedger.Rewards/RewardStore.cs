using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Storage;
using ModelLedger.Rewards.Policy;
using Npgsql;

namespace ModelLedger.Rewards;

/// <summary>A reward table row: one recipient's slice of one inference's fee.</summary>
public sealed record AccrualRow(string Inference, long Epoch, string Role, string Account, string Source,
    UInt128 Amount);

/// <summary>
/// The <c>reward_</c> tables in the workspace database, on their own connection: policy versions, metered inferences,
/// accruals (each inference's split) and closed epochs. They are a projection of the ledger and nothing else:
/// <see cref="Sync"/> reads the entries after its cursor and applies them, so the tables can always be rebuilt from
/// the log, and <c>RewardsVerifier</c> re-derives and compares every row. One instance per thread.
/// </summary>
public sealed class RewardStore : IDisposable
{
    private readonly DbConnection _connection;
    private readonly bool _postgres;

    private readonly PreparedCommands _prepared;
    /// <summary>The ledger store whose connection these tables share (<see cref="OpenJoined"/>), else null.</summary>
    private readonly ILedgerStore? _joined;

    private RewardStore(DbConnection connection, ILedgerStore? joined)
    {
        (_connection, _postgres, _joined) = (connection, connection is NpgsqlConnection, joined);
        _prepared = new PreparedCommands(connection);
        Execute("""
            CREATE TABLE IF NOT EXISTS reward_cursor (id INTEGER PRIMARY KEY, next_entry BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS reward_policies (version BIGINT PRIMARY KEY, entry_idx BIGINT NOT NULL, policy TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS reward_inferences (inference TEXT PRIMARY KEY, epoch BIGINT NOT NULL, caller TEXT NOT NULL, fee TEXT NOT NULL,
                entry_idx BIGINT NOT NULL, payload TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS reward_accruals (inference TEXT NOT NULL, epoch BIGINT NOT NULL, role TEXT NOT NULL, account TEXT NOT NULL,
                source TEXT NOT NULL, amount TEXT NOT NULL, PRIMARY KEY (inference, role, account, source));
            CREATE TABLE IF NOT EXISTS reward_epochs (epoch BIGINT PRIMARY KEY, entry_idx BIGINT NOT NULL, payload TEXT NOT NULL);
            INSERT INTO reward_cursor (id, next_entry) VALUES (1, 0) ON CONFLICT DO NOTHING;
            """);
    }

    /// <summary>The tables on a connection of their own.</summary>
    public static RewardStore Open(LedgerWorkspace workspace) => new(workspace.OpenDatabase(), null);

    /// <summary>The tables on the workspace ledger store's own connection, so that <see cref="SyncIn"/> can project a
    /// ledger write's entries inside that write's transaction (one commit for entries and rows; and one connection's
    /// page cache, which a second writing connection would invalidate on every commit). Use it only on the thread
    /// that uses <paramref name="workspace"/>'s store; disposing it leaves the connection to the store.</summary>
    public static RewardStore OpenJoined(LedgerWorkspace workspace) =>
        new(workspace.Store.Connection, workspace.Store);

    /// <summary>Whether <see cref="SyncIn"/> can run inside <paramref name="ledger"/>'s writes.</summary>
    public bool JoinedTo(ILedgerStore ledger) => ReferenceEquals(_joined, ledger);

    /// <summary>Applies the ledger entries after the cursor (policies, inferences, attributions, epoch closes) in one
    /// transaction. Safe to run from several processes: rows are keyed, inserts ignore existing keys. With nothing new
    /// it writes nothing (no commit, so no fsync). Answers whether it wrote anything.</summary>
    public bool Sync(ILedgerStore ledger)
    {
        // One connection: the sync runs as a ledger write (the store's lock; a commit without changes writes nothing).
        if (JoinedTo(ledger)) return ledger.Write(SyncIn);
        using var tx = _postgres ? _connection.BeginTransaction() : ((SqliteConnection)_connection).BeginTransaction(deferred: false);
        if (!ApplyAfterCursor(tx, ledger.ReadEntries)) return false;   // disposing rolls back: nothing to write
        tx.Commit();
        return true;
    }

    /// <summary><see cref="Sync"/> inside a ledger write on the same connection (<see cref="OpenJoined"/>): the rows
    /// and the cursor commit with that write's entries, or roll back with them, so the tables never run ahead of a
    /// durable log and need no commit of their own. Answers whether anything was new.</summary>
    public bool SyncIn(ILedgerTransaction ledger)
    {
        if (!ReferenceEquals(ledger.Database.Connection, _connection))
            throw new InvalidOperationException("the reward tables are not on this ledger transaction's connection");
        return ApplyAfterCursor(ledger.Database, ledger.ReadEntries);
    }

    /// <summary>Applies the entries after the cursor within <paramref name="tx"/> and moves the cursor; whether
    /// anything was new.</summary>
    private bool ApplyAfterCursor(DbTransaction tx, Func<long, IEnumerable<(long Index, string Leaf)>> read)
    {
        if (_postgres) Execute("SELECT pg_advisory_xact_lock(7164392272)", tx);
        long start = Convert.ToInt64(_prepared.Scalar("SELECT next_entry FROM reward_cursor WHERE id = 1", tx),
            CultureInfo.InvariantCulture);
        long next = start;
        var seen = new SyncCache();
        foreach (var (index, leaf) in read(next))
        {
            // One parse of the leaf for its type and payload (the payload element is the payload's exact text). The
            // log's own rules (canonical bytes, payload shape) are the ledger's to enforce and verify's to check.
            using var doc = Parse(index, leaf);
            var root = doc.RootElement;
            var type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var t)
                && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type is RewardEvents.Policy or RewardEvents.Inference or RewardEvents.Attribution
                or RewardEvents.EpochClosed)
            {
                if (!root.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object)
                    throw new LedgerError($"entry {index} is not a valid ledger entry (no payload object)");
                Apply(type, payload, index, tx, seen);
            }
            else if (type is null) throw new LedgerError($"entry {index} is not a valid ledger entry (no type)");
            next = index + 1;
        }
        if (next == start) return false;
        _prepared.Execute("UPDATE reward_cursor SET next_entry = @n WHERE id = 1", tx, ("n", next));
        return true;
    }

    private static JsonDocument Parse(long index, string leaf)
    {
        try { return JsonDocument.Parse(leaf); }
        catch (JsonException e) { throw new LedgerError($"entry {index} is not a valid ledger entry ({e.Message})"); }
    }

    /// <summary>What one <see cref="Sync"/> already read: parsed policy versions and the inference payloads it
    /// inserted (an attribution usually follows its inference in the same sync).</summary>
    private sealed class SyncCache
    {
        public readonly Dictionary<long, FeePolicy> Policies = [];
        public readonly Dictionary<string, string> Inferences = new(StringComparer.Ordinal);
    }

    private void Apply(string type, JsonElement p, long index, DbTransaction tx, SyncCache seen)
    {
        switch (type)
        {
            case RewardEvents.Policy:
                _prepared.Execute("INSERT INTO reward_policies (version, entry_idx, policy) VALUES (@v, @i, @p) ON CONFLICT DO NOTHING", tx,
                    ("v", p.GetProperty("version").GetInt64()), ("i", index), ("p",
                        p.GetProperty("policy").GetRawText()));
                break;
            case RewardEvents.Inference when p.TryGetProperty("epoch", out var epoch):
                var inferenceId = p.GetProperty("inference").GetString()!;
                var raw = p.GetRawText();
                // ON CONFLICT keeps the first row, so the cache only learns a payload the table really holds.
                if (Insert("INSERT INTO reward_inferences (inference, epoch, caller, fee, entry_idx, payload) "
                    + "VALUES (@id, @e, @c, @f, @i, @p) ON CONFLICT DO NOTHING",
                    tx, ("id", inferenceId), ("e", epoch.GetInt64()), ("c",
                        p.GetProperty("caller").GetString()),
                    ("f", p.GetProperty("fee").GetString()), ("i", index), ("p", raw)) == 1)
                    seen.Inferences[inferenceId] = raw;
                break;
            case RewardEvents.Attribution:
                var id = p.GetProperty("inference").GetString()!;
                var payload = seen.Inferences.GetValueOrDefault(id)
                    ?? _prepared.Scalar("SELECT payload FROM reward_inferences WHERE inference = @id", tx, ("id", id)) as string;
                if (payload is null) return;   // not one of ours; the verifier reports it
                using (var inference = JsonDocument.Parse(payload))
                {
                    long version = inference.RootElement.GetProperty("policy").GetInt64();
                    if (!seen.Policies.TryGetValue(version, out var policy))
                    {
                        using var policyDoc = JsonDocument.Parse((string)_prepared.Scalar("SELECT policy FROM reward_policies WHERE version = @v", tx, ("v", version))!);
                        seen.Policies[version] = policy = PolicyJson.Read(policyDoc.RootElement);
                    }
                    foreach (var row in Accruals(policy, inference.RootElement, p))
                        Insert("INSERT INTO reward_accruals (inference, epoch, role, account, source, amount) "
                            + "VALUES (@id, @e, @r, @a, @s, @m) ON CONFLICT DO NOTHING", tx,
                            ("id", row.Inference), ("e", row.Epoch), ("r", row.Role), ("a", row.Account), ("s",
                                row.Source),
                            ("m", row.Amount.ToString(CultureInfo.InvariantCulture)));
                }
                break;
            case RewardEvents.EpochClosed when p.TryGetProperty("through", out _):
                _prepared.Execute("INSERT INTO reward_epochs (epoch, entry_idx, payload) VALUES (@e, @i, @p) ON CONFLICT DO NOTHING", tx,
                    ("e", p.GetProperty("epoch").GetInt64()), ("i", index), ("p", p.GetRawText()));
                break;
        }
    }

    /// <summary>An inference's accrual rows: its fee split under the policy version it was metered with.</summary>
    public static IEnumerable<AccrualRow> Accruals(FeePolicy policy, JsonElement inference, JsonElement attribution)
    {
        var record = RewardEvents.ReadRecord(inference, attribution);
        long epoch = inference.GetProperty("epoch").GetInt64();
        var fee = RewardEvents.Amount(inference.GetProperty("fee"));
        return FeeSplit.Split(policy, fee, record.AdapterOwner, record.TrainingShares, record.Documents)
            .Select(a => new AccrualRow(record.Id, epoch, RoleName(a.Role), a.Account, a.Source, a.Amount));
    }

    public static string RoleName(Role role) => role switch
    {
        Role.Training => "training", Role.Document => "document", Role.AdapterOwner => "adapter_owner",
        Role.Treasury => "treasury", _ => "remainder",
    };

    /// <summary>The newest policy version in the tables (call <see cref="Sync"/> first).</summary>
    public (long Version, FeePolicy Policy)? LatestPolicy()
    {
        var rows = Rows("SELECT version, policy FROM reward_policies ORDER BY version DESC LIMIT 1",
            r => (r.GetInt64(0), r.GetString(1)));
        if (rows.Count == 0) return null;
        using var doc = JsonDocument.Parse(rows[0].Item2);
        return (rows[0].Item1, PolicyJson.Read(doc.RootElement));
    }

    /// <summary>The recorded <c>inference</c> payload for this id, if it was metered.</summary>
    public string? ReadInferencePayload(string inference) =>
        Scalar("SELECT payload FROM reward_inferences WHERE inference = @id", null, ("id", inference)) as string;

    /// <summary>A policy version by number.</summary>
    public FeePolicy Policy(long version)
    {
        var text = Scalar("SELECT policy FROM reward_policies WHERE version = @v", null, ("v", version)) as string
            ?? throw new UserError($"policy version {version} is not in this workspace");
        using var doc = JsonDocument.Parse(text);
        return PolicyJson.Read(doc.RootElement);
    }

    /// <summary>The open epoch: one after the last closed (epochs count from 1).</summary>
    public long CurrentEpoch() => Convert.ToInt64(Scalar("SELECT COALESCE(MAX(epoch), 0) + 1 FROM reward_epochs",
        null), CultureInfo.InvariantCulture);

    public IReadOnlyList<(long Version, long Index, string Policy)> ReadPolicies() =>
        Rows("SELECT version, entry_idx, policy FROM reward_policies ORDER BY version", r => (r.GetInt64(0),
            r.GetInt64(1), r.GetString(2)));

    public IReadOnlyList<(string Inference, long Epoch, string Caller, string Fee, long Index)> ReadInferences() =>
        Rows("SELECT inference, epoch, caller, fee, entry_idx FROM reward_inferences ORDER BY entry_idx",
            r => (r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetInt64(4)));

    public IReadOnlyList<AccrualRow> ReadAccruals(long? epoch = null) =>
        Rows("SELECT inference, epoch, role, account, source, amount FROM reward_accruals"
            + (epoch is null ? "" : " WHERE epoch = @e") + " ORDER BY inference, role, account, source",
            r => new AccrualRow(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4),
                UInt128.Parse(r.GetString(5), NumberStyles.None, CultureInfo.InvariantCulture)), ("e", epoch));

    public IReadOnlyList<(long Epoch, long Index, string Payload)> ReadEpochs() =>
        Rows("SELECT epoch, entry_idx, payload FROM reward_epochs ORDER BY epoch", r => (r.GetInt64(0), r.GetInt64(1),
            r.GetString(2)));

    /// <summary>Raw SQL for tests that tamper with reward rows the way someone with database access could.</summary>
    internal void ExecuteRaw(string sql, params (string, object?)[] parameters) => Execute(sql, null, parameters);

    private List<T> Rows<T>(string sql, Func<DbDataReader, T> read, params (string, object?)[] parameters)
    {
        using var cmd = Command(sql, null, parameters);
        using var reader = cmd.ExecuteReader();
        var list = new List<T>();
        while (reader.Read()) list.Add(read(reader));
        return list;
    }

    /// <summary>SQLite: the projection's row inserts through SQLite's own API (<see cref="SqliteStatement"/>), bound
    /// by position — Microsoft.Data.Sqlite re-binds every parameter by name on each run, which cost more than the
    /// insert in billing's group commit.</summary>
    private readonly Dictionary<string, SqliteStatement> _inserts = new(StringComparer.Ordinal);

    /// <summary>Runs a hot INSERT (parameters in the order they first appear in <paramref name="sql"/>) within
    /// <paramref name="tx"/>; the number of rows it inserted.</summary>
    private int Insert(string sql, DbTransaction tx, params (string Name, object? Value)[] parameters)
    {
        if (_connection is not SqliteConnection sqlite) return _prepared.Execute(sql, tx, parameters);
        if (!_inserts.TryGetValue(sql, out var insert)) _inserts[sql] = insert = new SqliteStatement(sqlite, sql);
        for (int i = 0; i < parameters.Length; i++) insert.BindValue(i + 1, parameters[i].Value);
        return insert.RunCounted();
    }

    public void Dispose()
    {
        foreach (var insert in _inserts.Values) insert.Dispose();
        _inserts.Clear();
        _prepared.Dispose();
        if (_joined is null) _connection.Dispose();
    }

    private DbCommand Command(string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters) =>
        _connection.Command(sql, tx, parameters);

    private void Execute(string sql, DbTransaction? tx = null, params (string, object?)[] parameters) =>
        _connection.Execute(sql, tx, parameters);

    private object? Scalar(string sql, DbTransaction? tx, params (string, object?)[] parameters)
    {
        var v = _prepared.Scalar(sql, tx, parameters);
        return v is DBNull ? null : v;
    }
}
