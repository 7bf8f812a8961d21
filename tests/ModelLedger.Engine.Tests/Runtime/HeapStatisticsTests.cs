using System.Runtime.InteropServices;
using ModelLedger.Testing;

namespace ModelLedger.Engine.Runtime;

/// <summary>The heap statistics reader and malloc_trim, checked against allocations the test makes itself. In the
/// non-parallel collection: another test allocating or freeing at the same time would move the process figures.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed unsafe class HeapStatisticsTests
{
    private const long MiB = 1 << 20;

    /// <summary>Expected values: the kB figures of the text times 1024, by hand.</summary>
    [Fact]
    public void ReadStatus_TakesVmRssAndVmHwmInBytes()
    {
        const string status =
            "Name:\tdotnet\nVmPeak:\t 9999 kB\nVmHWM:\t   2048 kB\nVmRSS:\t    1500 kB\nThreads:\t3\n";
        Assert.Equal((1500L * 1024, 2048L * 1024), HeapStatistics.ReadStatus(status));
        Assert.Throws<FormatException>(() => HeapStatistics.ReadStatus("Name:\tx\nVmRSS:\t 1 kB\n"));
        Assert.Throws<FormatException>(() => HeapStatistics.ReadStatus("VmHWM:\t 1 MB\nVmRSS:\t 1 kB\n"));
    }

    /// <summary>A 96 MiB block is above glibc's largest mmap threshold (32 MiB), so it gets its own mapping: the
    /// mapped figure grows by at least its size; touching its pages makes them resident (VmRSS and VmHWM grow by
    /// about its size); after it is freed, resetting the peak brings VmHWM down to about VmRSS again.</summary>
    [Fact]
    public void MappedBlock_ShowsAsMappedThenResidentThenGone()
    {
        if (HeapStatistics.Read() is not { } before) return;   // not Linux with glibc
        const long size = 96 * MiB;
        var block = (byte*)NativeMemory.Alloc((nuint)size);
        try
        {
            var allocated = HeapStatistics.Read()!.Value;
            Assert.True(allocated.MappedBytes - before.MappedBytes >= size, $"{before} -> {allocated}");
            Assert.True(allocated.MappedBlocks > before.MappedBlocks);
            Assert.True(allocated.ResidentBytes - before.ResidentBytes < size / 2, "untouched pages are not resident");
            for (long i = 0; i < size; i += 4096) block[i] = 1;
            var touched = HeapStatistics.Read()!.Value;
            Assert.True(touched.ResidentBytes - allocated.ResidentBytes >= size * 9 / 10, $"{allocated} -> {touched}");
            Assert.True(touched.PeakResidentBytes >= touched.ResidentBytes);
        }
        finally
        {
            NativeMemory.Free(block);
        }
        var freed = HeapStatistics.Read()!.Value;
        Assert.True(freed.PeakResidentBytes - freed.ResidentBytes >= size * 9 / 10, $"{freed}");
        if (!HeapStatistics.ResetPeak()) return;   // kernels before 4.0
        var reset = HeapStatistics.Read()!.Value;
        Assert.True(reset.PeakResidentBytes - reset.ResidentBytes < size / 2, $"{reset}");
    }

    /// <summary>64 KiB blocks come from the heap (below every mmap threshold): while live they count as in use;
    /// freed between two live fences they stay resident as free heap bytes (glibc only returns the top of a heap on
    /// free), and <see cref="NativeHeap.Trim"/> returns their pages: VmRSS falls by most of their size.</summary>
    [Fact]
    public void FreedHeapBlocks_StayResidentUntilTrimmed()
    {
        if (HeapStatistics.Read() is null) return;   // not Linux with glibc
        var (freedBytes, released) = FreeFencedBlocks(() => Assert.True(NativeHeap.Trim()));
        Assert.True(released >= freedBytes * 3 / 4, $"{released >> 20} of {freedBytes >> 20} MiB released");
    }

    /// <summary>The step policy's contract: under trim (and the default with checkpointing) the free pages go back
    /// after a step; under keep, and the default without checkpointing, they stay resident; the variable's values by
    /// the documented names.</summary>
    [Theory]
    [InlineData(NativeHeap.Policy.TrimEachStep, false, true)]
    [InlineData(NativeHeap.Policy.TrimEachStep, true, true)]
    [InlineData(NativeHeap.Policy.Default, true, true)]
    [InlineData(NativeHeap.Policy.Default, false, false)]
    [InlineData(NativeHeap.Policy.Keep, true, false)]
    public void AfterAStep_FreePagesGoBackOnlyUnderATrimPolicy(NativeHeap.Policy policy, bool checkpointing,
        bool released)
    {
        if (HeapStatistics.Read() is null) return;
        var (freedBytes, fell) = FreeFencedBlocks(
            () => Assert.Equal(released, NativeHeap.AfterOptimizerStep(policy, checkpointing)));
        if (released) Assert.True(fell >= freedBytes * 3 / 4, $"released {fell >> 20} of {freedBytes >> 20} MiB");
        else Assert.True(fell < freedBytes / 4, $"kept, yet {fell >> 20} of {freedBytes >> 20} MiB went");
    }

    [Fact]
    public void PolicyNames()
    {
        Assert.Equal(NativeHeap.Policy.Default, NativeHeap.Parse(null));
        Assert.Equal(NativeHeap.Policy.Default, NativeHeap.Parse(""));
        Assert.Equal(NativeHeap.Policy.TrimEachStep, NativeHeap.Parse("trim"));
        Assert.Equal(NativeHeap.Policy.Mmap, NativeHeap.Parse("mmap"));
        Assert.Equal(NativeHeap.Policy.Keep, NativeHeap.Parse("keep"));
        Assert.Null(NativeHeap.Parse("jemalloc"));
    }

    /// <summary>Allocates and touches 40 MiB in 64 KiB heap blocks between two live fences, frees them (checking
    /// that they count as in use, then free, and stay resident), runs <paramref name="then"/>; returns the bytes freed
    /// and how much VmRSS fell during <paramref name="then"/>. The high fence is only above the blocks when glibc
    /// carves it from the top chunk; when it fills a hole lower down instead, freeing the blocks merges them into the
    /// top and glibc trims that itself (seen once in CI: 12 of 40 MiB gone at free). Such a layout cannot show what
    /// <paramref name="then"/> does, so it is set up again, with the failed one's fences kept live to fill holes.
    /// </summary>
    private static (long Freed, long Released) FreeFencedBlocks(Action then)
    {
        const int attempts = 4;
        var kept = new List<nint>();
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                var result = TryFreeFencedBlocks(then, kept, last: attempt == attempts);
                if (result is { } done) return done;
            }
        }
        finally
        {
            foreach (var fence in kept) NativeMemory.Free((void*)fence);
        }
    }

    /// <summary>One layout; null (fences added to <paramref name="kept"/>) when the freed blocks did not stay as
    /// free heap, unless <paramref name="last"/>, where that fails the test.</summary>
    private static (long Freed, long Released)? TryFreeFencedBlocks(Action then, List<nint> kept, bool last)
    {
        var before = HeapStatistics.Read()!.Value;
        const int count = 640, size = 64 * 1024;
        const long total = (long)count * size;
        var fenceLow = NativeMemory.Alloc(size);
        var blocks = new byte*[count];
        for (int i = 0; i < count; i++)
        {
            blocks[i] = (byte*)NativeMemory.Alloc(size);
            for (int j = 0; j < size; j += 4096) blocks[i][j] = 1;
        }
        var fenceHigh = NativeMemory.Alloc(size);
        bool keepFences = false;
        try
        {
            var live = HeapStatistics.Read()!.Value;
            Assert.True(live.InUseBytes - before.InUseBytes >= total, $"{before} -> {live}");
            for (int i = 0; i < count; i++) NativeMemory.Free(blocks[i]);
            var freed = HeapStatistics.Read()!.Value;
            bool stayed = freed.FreeBytes - live.FreeBytes >= total * 9 / 10
                && live.ResidentBytes - freed.ResidentBytes < total / 4;
            if (!stayed && !last)
            {
                keepFences = true;
                return null;
            }
            Assert.True(freed.FreeBytes - live.FreeBytes >= total * 9 / 10, $"{live} -> {freed}");
            Assert.True(live.ResidentBytes - freed.ResidentBytes < total / 4, "freed, still resident");
            then();
            return (total, freed.ResidentBytes - HeapStatistics.Read()!.Value.ResidentBytes);
        }
        finally
        {
            if (keepFences)
            {
                kept.Add((nint)fenceLow);
                kept.Add((nint)fenceHigh);
            }
            else
            {
                NativeMemory.Free(fenceLow);
                NativeMemory.Free(fenceHigh);
            }
        }
    }
}
