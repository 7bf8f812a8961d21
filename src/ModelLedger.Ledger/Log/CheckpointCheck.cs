using System.Text;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger.Log;

/// <summary>
/// Verify's check of signed checkpoints against the replayed tree: each must be signed by the log key, its stored
/// size column must be the size it signs, the log must reach that size, and the tree of that size must have the
/// signed root. Checkpoints whose roots match bound where damage can start; those that do not bound where it ends.
/// </summary>
internal sealed class CheckpointCheck(MerkleTree tree, NoteVerifier key)
{
    private long _goodUpTo;                 // the largest size whose signed root matches the stored entries
    private long? _badFrom;                 // the smallest size whose signed root does not
    private bool _truncated;                // a checkpoint signs more entries than the log holds

    public List<string> Problems { get; } = [];
    public long Count { get; private set; }

    public void AddStored(object?[] row)
    {
        Count++;
        var where = $"checkpoint row {Cells.Show(row[0])}";
        if (Cells.Normalize(row[1]) is not string note) { Problems.Add($"{where}: note is {Cells.Show(row[1])}, not text"); return; }
        if (Check(note, where) is ulong size && !Equals(Cells.Normalize(row[0]), (long)size))
            Problems.Add($"{where}: the size column is {Cells.Show(row[0])} but the note signs size {size}");
    }

    public void AddGiven(string note) => Check(note, "given checkpoint");

    /// <summary>Checks one note; returns the size it signs when it is signed by the log key.</summary>
    private ulong? Check(string note, string where)
    {
        var (verdict, text, _) = NoteFormat.Verify(Encoding.UTF8.GetBytes(note), [key]);
        if (verdict != NoteVerdict.Ok)
        {
            var signers = NoteFormat.Signers(note);
            Problems.Add($"{where}: {verdict switch
            {
                NoteVerdict.Unverified => "not signed by this log's key",
                NoteVerdict.InvalidSignature => "the signature by this log's key does not verify",
                _ => "not a signed note",
            }} (expected {key.Name}+{key.KeyId:x8}; signed by {(signers.Count == 0 ? "nobody" : string.Join(", ", signers))})");
            return null;
        }
        Checkpoint cp;
        try { cp = Checkpoint.Parse(text!); }
        catch (LedgerError e) { Problems.Add($"{where}: {e.Message}"); return null; }
        if (cp.Origin != key.Name) Problems.Add($"{where}: origin '{cp.Origin}' is not this log's ('{key.Name}')");
        if ((long)cp.Size > tree.Size)
        {
            Problems.Add($"{where}: signs {cp.Size} entries but the log has only {tree.Size}: entries were removed");
            _truncated = true;
        }
        else if (!tree.Root((long)cp.Size).AsSpan().SequenceEqual(cp.Root))
        {
            Problems.Add($"{where}: the stored entries 0..{cp.Size - 1} do not hash to the signed root");
            _badFrom = Math.Min(_badFrom ?? (long)cp.Size, (long)cp.Size);
        }
        else _goodUpTo = Math.Max(_goodUpTo, (long)cp.Size);
        return cp.Size;
    }

    /// <summary>Where the damage a root mismatch shows must lie: from the largest matching size to the smallest
    /// mismatching one (exclusive); the first missing entry when the log is only shorter than a checkpoint; null
    /// when every checkpoint matched.</summary>
    public (long From, long To)? DamagedRange()
    {
        if (_badFrom is not long bad) return _truncated ? (tree.Size, tree.Size) : null;
        long from = _goodUpTo < bad ? _goodUpTo : 0;
        return (from, Math.Max(from, bad - 1));
    }
}
