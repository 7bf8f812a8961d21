using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Log;

namespace ModelLedger.Ledger;

public sealed partial class LedgerService
{
    /// <summary>Signs and stores the checkpoint of the current tree.</summary>
    public string Checkpoint(NoteSigner signer, string origin)
    {
        long size = Size;
        var note = signer.Sign(new Checkpoint(origin, (ulong)size, _tree.Root(size)).Text);
        store.SaveCheckpoint(size, note);
        return note;
    }

    public (byte[] LeafHash, IReadOnlyList<byte[]> Path, byte[] Root) Prove(long index, long size)
    {
        long current = Size;
        if (current == 0) throw new LedgerError("the log is empty: there is nothing to prove");
        if (size < 1 || size > current) throw new LedgerError($"tree size {size} is outside the log (1..{current})");
        if (index < 0 || index >= size) throw new LedgerError($"index {index} is outside a tree of {size} entries (0..{size - 1})");
        return (_tree.LeafHash(index), _tree.InclusionProof(index, size), _tree.Root(size));
    }

    public (IReadOnlyList<byte[]> Path, byte[] FromRoot, byte[] ToRoot) Consistency(long from, long to)
    {
        long current = Size;
        if (to > current) throw new LedgerError($"tree size {to} is beyond the log ({current} entries)");
        return (_tree.ConsistencyProof(from, to), _tree.Root(from), _tree.Root(to));
    }

    public byte[] Root(long size) { _ = Size; return _tree.Root(size); }

    public (LedgerEntry Entry, string Leaf, byte[] LeafHash) Read(long index)
    {
        long size = Size;
        if (size == 0) throw new LedgerError("the log is empty");
        if (index < 0 || index >= size) throw new LedgerError($"index {index} is outside the log (0..{size - 1})");
        var leaf = store.ReadEntries(index).First().Leaf;
        return (DecodeStored(index, leaf), leaf, _tree.LeafHash(index));
    }

    /// <summary>The entry appended under <paramref name="clientId"/>, if any: found through the indexed column,
    /// answered only when its bytes carry that id and hash to the tree's leaf.</summary>
    public (long Index, LedgerEntry Entry, string LeafHash)? FindClientId(string clientId)
    {
        if (store.FindClientId(clientId) is not var (index, leaf)) return null;
        long size = Size;
        var entry = DecodeStored(index, leaf);
        if (index >= size || entry.ClientId != clientId || !MerkleHash.Leaf(EntryRules.Bytes(leaf)).AsSpan().SequenceEqual(_tree.LeafHash(index)))
            throw new LedgerError($"entry {index}: its stored row does not match the log for client id '{clientId}'; run mledger ledger verify");
        return (index, entry, Hex(_tree.LeafHash(index)));
    }

    /// <summary>Index of the entry with this leaf hash, if any (for walking refs): found through the indexed column,
    /// answered only when the hash of that entry's stored bytes agrees.</summary>
    public long? IndexOf(string leafHashHex)
    {
        long size = Size;
        return store.IndexOfLeafHash(leafHashHex) is long at && at < size && Hex(_tree.LeafHash(at)) == leafHashHex ? at : null;
    }
}
