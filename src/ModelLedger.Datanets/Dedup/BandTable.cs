namespace ModelLedger.Datanets.Dedup;

/// <summary>
/// An open-addressing multimap from non-zero 64-bit keys to 32-bit values (linear probing, power-of-two capacity,
/// at most three quarters full): 12 bytes a slot, 16–32 bytes an entry, where a Dictionary&lt;ulong, List&lt;int&gt;&gt;
/// costs several times that. A key may map to several values (items that share an LSH band). Not thread-safe.
/// </summary>
internal sealed class BandTable
{
    private ulong[] _keys = new ulong[16];
    private int[] _values = new int[16];

    public int Count { get; private set; }

    public long Bytes => _keys.LongLength * sizeof(ulong) + _values.LongLength * sizeof(int);

    public void Add(ulong key, int value)
    {
        if (key == 0) throw new ArgumentOutOfRangeException(nameof(key), "0 marks an empty slot");
        if ((Count + 1) * 4L > _keys.Length * 3L) Grow();
        Insert(_keys, _values, key, value);
        Count++;
    }

    /// <summary>Adds every value stored under <paramref name="key"/> to <paramref name="into"/>.</summary>
    public void Find(ulong key, List<int> into)
    {
        int mask = _keys.Length - 1;
        for (int i = Slot(key, mask); _keys[i] != 0; i = (i + 1) & mask)
            if (_keys[i] == key) into.Add(_values[i]);
    }

    private static int Slot(ulong key, int mask) => (int)(key ^ (key >> 32)) & mask;

    private static void Insert(ulong[] keys, int[] values, ulong key, int value)
    {
        int mask = keys.Length - 1, i = Slot(key, mask);
        while (keys[i] != 0) i = (i + 1) & mask;
        keys[i] = key;
        values[i] = value;
    }

    private void Grow()
    {
        var keys = new ulong[_keys.Length * 2];
        var values = new int[_keys.Length * 2];
        for (int i = 0; i < _keys.Length; i++)
            if (_keys[i] != 0) Insert(keys, values, _keys[i], _values[i]);
        (_keys, _values) = (keys, values);
    }
}
