using System.IO.MemoryMappedFiles;

namespace ModelLedger.Attribution.Spans;

/// <summary>
/// A span index file memory-mapped for reading: count and locate queries over the snapshot's token sequence by binary
/// search of the suffix array, O(|pattern| · log n) token reads, no allocation per query. Owns the mapping (dispose
/// it). Thread-safe for concurrent queries (read-only view).
/// </summary>
internal sealed unsafe class SpanIndex : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly int* _tokens, _suffixes, _segmentStarts, _segmentRows;
    private readonly int _tokenCount, _suffixCount, _segmentCount;

    public SpanIndexFile.Header Header { get; }
    public string Path { get; }
    public long FileBytes => Header.FileBytes;
    /// <summary>Indexed tokens (separators not counted).</summary>
    public int SuffixCount => _suffixCount;

    private SpanIndex(string path)
    {
        Path = path;
        long length = new FileInfo(path).Length;
        var head = new byte[Math.Min(length, SpanIndexFile.HeaderBytes)];
        using (var stream = File.OpenRead(path)) stream.ReadExactly(head);
        Header = SpanIndexFile.Read(head, length, path);
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
        (_tokenCount, _suffixCount, _segmentCount) = ((int)Header.Tokens, (int)Header.Suffixes, (int)Header.Segments);
        _tokens = (int*)(_base + SpanIndexFile.HeaderBytes);
        _suffixes = _tokens + _tokenCount;
        _segmentStarts = _suffixes + _suffixCount;
        _segmentRows = _segmentStarts + _segmentCount;
    }

    public static SpanIndex Open(string path) => new(path);

    public int TokenAt(int position) => _tokens[position];

    /// <summary>Suffix-array rows [Lo, Hi) whose suffixes start with <paramref name="pattern"/>.</summary>
    public (int Lo, int Hi) Find(ReadOnlySpan<int> pattern)
    {
        var (lo, hi) = (0, _suffixCount);
        for (int depth = 0; depth < pattern.Length && lo < hi; depth++) (lo, hi) = Narrow(lo, hi, depth, pattern[depth]);
        return (lo, hi);
    }

    public int Count(ReadOnlySpan<int> pattern)
    {
        var (lo, hi) = Find(pattern);
        return hi - lo;
    }

    /// <summary>Token positions of the suffixes in rows [lo, hi), at most <paramref name="max"/> of them.</summary>
    public int[] Locate(int lo, int hi, int max)
    {
        var positions = new int[Math.Clamp(hi - lo, 0, max)];
        for (int i = 0; i < positions.Length; i++) positions[i] = _suffixes[lo + i];
        return positions;
    }

    /// <summary>The snapshot row that the token at <paramref name="position"/> belongs to.</summary>
    public int RowOf(int position)
    {
        int lo = 0, hi = _segmentCount - 1;   // last segment whose start ≤ position
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (_segmentStarts[mid] <= position) lo = mid; else hi = mid - 1;
        }
        return _segmentRows[lo];
    }

    /// <summary>Within rows [lo, hi), whose suffixes share their first <paramref name="depth"/> tokens (so the token
    /// at depth is non-decreasing), the sub-range whose token at depth is <paramref name="token"/>.</summary>
    public (int Lo, int Hi) Narrow(int lo, int hi, int depth, int token) =>
        (LowerBound(lo, hi, depth, token), LowerBound(lo, hi, depth, token + 1));

    private int LowerBound(int lo, int hi, int depth, int token)
    {
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (At(_suffixes[mid] + depth) < token) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>The token at a position, or the separator past the end.</summary>
    private int At(int position) => position < _tokenCount ? _tokens[position] : TokenCorpus.Separator;

    // The stored arrays, for verification against a rebuild.
    public ReadOnlySpan<int> Tokens => new(_tokens, _tokenCount);
    public ReadOnlySpan<int> Suffixes => new(_suffixes, _suffixCount);
    public ReadOnlySpan<int> SegmentStarts => new(_segmentStarts, _segmentCount);
    public ReadOnlySpan<int> SegmentRows => new(_segmentRows, _segmentCount);

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
