using System.Buffers.Binary;
using System.Text.Json;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger;

/// <summary>
/// Verify's replay of the entries table, row by row in index order: rebuilds the Merkle tree from the stored bytes,
/// checks each row's numbering and the columns stored beside its bytes, the entry rules (refs against the replayed
/// log), client-id uniqueness, and replays accounts and transfers into the rows the derived tables must hold.
/// </summary>
internal sealed class LogReplay
{
    private readonly Dictionary<ulong, long> _byHash = [];             // first 8 bytes of a leaf hash → first index
    private readonly Dictionary<string, long> _collisions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _clientIds = new(StringComparer.Ordinal);
    private readonly AccountBook _book = new();
    private readonly Dictionary<string, long> _accountEntry = new(StringComparer.Ordinal), _transferEntry = new(StringComparer.Ordinal);

    private long _expected;                                             // the idx the next row must have

    public MerkleTree Tree { get; } = new();

    public void Add(object?[] row, Action<long, string> bad)
    {
        if (Cells.Normalize(row[0]) is not long index) { bad(_expected, $"a row has idx {Cells.Show(row[0])}, not an integer"); return; }
        if (index != _expected) bad(Math.Min(index, _expected), index > _expected ? $"missing (the next stored entry is {index})" : $"stored out of order (idx {index})");
        _expected = index + 1;
        if (Cells.Normalize(row[1]) is not string leaf) { bad(index, $"leaf is {Cells.Show(row[1])}, not text"); Tree.Append(new byte[MerkleHash.Size]); return; }
        var bytes = EntryRules.Bytes(leaf);
        var hash = MerkleHash.Leaf(bytes);
        var hex = LedgerService.Hex(hash);
        if (!Equals(Cells.Normalize(row[2]), hex)) bad(index, $"leaf_hash column is {Cells.Show(row[2])}, the entry's bytes hash to {hex}");
        var (entry, problem) = EntryRules.Check(bytes, Tree.Size, Resolve);
        Index(hash, Tree.Size);
        Tree.Append(hash);
        if (entry is null || problem is not null) { bad(index, problem!); return; }
        if (!Equals(Cells.Normalize(row[3]), entry.Type)) bad(index, $"type column is {Cells.Show(row[3])}, the entry's bytes say '{entry.Type}'");
        if (!Equals(Cells.Normalize(row[4]), entry.ClientId)) bad(index, $"client_id column is {Cells.Show(row[4])}, the entry's bytes say {Cells.Show(entry.ClientId)}");
        if (entry.ClientId is string id && !_clientIds.TryAdd(id, index)) bad(index, $"client id '{id}' was already used by entry {_clientIds[id]}");
        if (Replay(entry, index) is string replayProblem) bad(index, replayProblem);
    }

    private string? Replay(LedgerEntry entry, long index)
    {
        if (entry.Type is not (EventTypes.AccountCreated or EventTypes.Transfer)) return null;
        using var doc = JsonDocument.Parse(entry.Payload);
        var p = doc.RootElement;
        var id = p.GetProperty("id").GetString()!;
        if (entry.Type == EventTypes.AccountCreated)
        {
            if (!_book.Create(id, p.GetProperty("allow_negative").GetBoolean())) return $"account '{id}' created twice (first by entry {_accountEntry[id]})";
            _accountEntry[id] = index;
            return null;
        }
        Cells.TryAmount(p.GetProperty("amount").GetString()!, out var amount);
        var t = new Transfer(id, p.GetProperty("debit").GetString()!, p.GetProperty("credit").GetString()!, amount);
        var status = _book.Check(t);
        if (status is TransferStatus.Exists or TransferStatus.ExistsWithDifferentContent) return $"transfer '{id}' recorded twice (first by entry {_transferEntry[id]})";
        if (status != TransferStatus.Ok) return $"breaks the account rules on replay: {_book.Describe(t, status)}";
        _book.Apply(t);
        _transferEntry[id] = index;
        return null;
    }

    /// <summary>accounts rows the log implies, keyed by id, cells as <see cref="Cells.Normalize"/> gives them.</summary>
    public IReadOnlyDictionary<string, object?[]> ExpectedAccounts() => _book.Accounts.Values.ToDictionary(a => a.Id,
        a => new object?[] { a.Id, a.AllowNegative ? 1L : 0L, Cells.Amount(a.DebitsPosted), Cells.Amount(a.CreditsPosted), _accountEntry[a.Id] }, StringComparer.Ordinal);

    public IReadOnlyDictionary<string, object?[]> ExpectedTransfers() => _book.Transfers.Values.ToDictionary(t => t.Id,
        t => new object?[] { t.Id, t.Debit, t.Credit, Cells.Amount(t.Amount), _transferEntry[t.Id] }, StringComparer.Ordinal);

    private void Index(byte[] hash, long index)
    {
        ulong key = BinaryPrimitives.ReadUInt64BigEndian(hash);
        if (_byHash.TryAdd(key, index)) return;
        var hex = LedgerService.Hex(hash);
        if (!Tree.LeafHash(_byHash[key]).AsSpan().SequenceEqual(hash)) _collisions.TryAdd(hex, index);
    }

    private long? Resolve(string hex)
    {
        if (!EntryRules.IsHash(hex)) return null;
        var hash = Convert.FromHexString(hex);
        if (_byHash.TryGetValue(BinaryPrimitives.ReadUInt64BigEndian(hash), out var at) && Tree.LeafHash(at).AsSpan().SequenceEqual(hash)) return at;
        return _collisions.TryGetValue(hex, out var other) ? other : null;
    }
}
