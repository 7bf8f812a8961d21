using System.Collections.Concurrent;
using ModelLedger.Datanets;
using ModelLedger.Ledger;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Metering;

namespace ModelLedger.Server.Billing;

/// <summary>
/// Rewards' <see cref="Metering"/> is one instance per thread over its own workspace connection; the server bills
/// from many request threads, so it lends each call one (workspace, reward tables, metering) set and takes it back.
/// Sets are made on demand and kept for reuse; the management routes borrow them too. Thread-safe; disposes every set
/// it made.
/// </summary>
internal sealed class MeteringPool(string workspace, string? db) : IDisposable
{
    private readonly ConcurrentBag<Lease> _idle = [];
    private readonly ConcurrentBag<Lease> _all = [];

    internal sealed class Lease(LedgerWorkspace workspace, bool joined = false)
    {
        public LedgerWorkspace Workspace { get; } = workspace;
        /// <summary>The reward tables; <c>joined</c>: on the ledger store's connection (one thread only).</summary>
        public RewardStore Tables { get; } = joined ? RewardStore.OpenJoined(workspace) : RewardStore.Open(workspace);
        public Metering Metering => new(Workspace, Tables);
        private DatanetService? _datanets;
        /// <summary>The datanet service over this set's workspace, opened on first use (management routes).</summary>
        public DatanetService Datanets => _datanets ??= new DatanetService(Workspace);

        public void Dispose()
        {
            _datanets?.Dispose();
            Tables.Dispose();
            Workspace.Dispose();
        }
    }

    /// <summary>Runs <paramref name="work"/> with a set of its own, off the request thread (the work blocks on the
    /// database).</summary>
    public Task<T> UseAsync<T>(Func<Lease, T> work) => Task.Run(() =>
    {
        var lease = Take();
        try { return work(lease); }
        finally { _idle.Add(lease); }
    });

    /// <summary>A set of its own for a long-lived user on one thread (the group-commit loop): never lent to others,
    /// disposed with the pool; its reward tables share the ledger store's connection, so a group projects its
    /// entries in its own transaction (<see cref="RewardStore.OpenJoined"/>).</summary>
    public Lease Dedicated() => Make(joined: true);

    private Lease Take() => _idle.TryTake(out var lease) ? lease : Make(joined: false);

    private Lease Make(bool joined)
    {
        Lease lease;
        var ws = LedgerWorkspace.Open(workspace, db);
        try { lease = new Lease(ws, joined); }
        catch
        {
            ws.Dispose();
            throw;
        }
        _all.Add(lease);
        return lease;
    }

    public void Dispose()
    {
        foreach (var lease in _all) lease.Dispose();
    }
}
