using System.Globalization;
using System.Runtime.InteropServices;

namespace ModelLedger.Engine.Runtime;

/// <summary>
/// What glibc's malloc holds, summed over all its arenas (<c>mallinfo2</c>), and the process's resident memory
/// (<c>/proc/self/status</c>): live bytes vs bytes freed but kept, to tell live tensors from allocator slack.
/// </summary>
/// <param name="HeapBytes">Bytes the arenas got from the system (brk or heap mappings), live or free.</param>
/// <param name="InUseBytes">Bytes in live blocks inside the arenas.</param>
/// <param name="FreeBytes">Bytes in free blocks inside the arenas (resident or not: a trim may have released them).
/// </param>
/// <param name="MappedBytes">Bytes in live blocks that have their own mapping (at or above the mmap threshold).
/// </param>
/// <param name="MappedBlocks">How many such mappings.</param>
/// <param name="ResidentBytes">VmRSS: resident now.</param>
/// <param name="PeakResidentBytes">VmHWM: the most resident since start (or since <see cref="ResetPeak"/>).</param>
public readonly partial record struct HeapStatistics(long HeapBytes, long InUseBytes, long FreeBytes, long MappedBytes,
    long MappedBlocks, long ResidentBytes, long PeakResidentBytes)
{
    /// <summary>Live bytes from malloc: in the arenas plus in their own mappings.</summary>
    public long LiveBytes => InUseBytes + MappedBytes;

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallinfo2")]
    private static partial MallInfo2 NativeMallInfo2();

    /// <summary>Now; null where this is not Linux with glibc ≥ 2.33 (mallinfo2).</summary>
    public static HeapStatistics? Read()
    {
        if (!OperatingSystem.IsLinux()) return null;
        MallInfo2 m;
        try
        {
            m = NativeMallInfo2();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        var (rss, hwm) = ReadStatus(File.ReadAllText("/proc/self/status"));
        return new HeapStatistics((long)m.Arena, (long)m.Uordblks, (long)m.Fordblks, (long)m.Hblkhd, (long)m.Hblks,
            rss, hwm);
    }

    /// <summary>VmRSS and VmHWM in bytes from the text of a <c>/proc/PID/status</c> file (kB there).</summary>
    public static (long Resident, long PeakResident) ReadStatus(string status)
    {
        long rss = -1, hwm = -1;
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kilobytes(line);
        }
        if (rss < 0 || hwm < 0) throw new FormatException("no VmRSS/VmHWM line in the status text");
        return (rss, hwm);
    }

    private static long Kilobytes(string line)
    {
        var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 3 || fields[2] != "kB") throw new FormatException($"unexpected status line '{line}'");
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Sets VmHWM back to the current VmRSS (Linux ≥ 4.0: writing 5 to clear_refs), so a phase's own peak
    /// can be read; false where that is not possible.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>MiB, one decimal-free figure per field, for a log line.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"rss {ResidentBytes >> 20} hwm {PeakResidentBytes >> 20} heap {HeapBytes >> 20} in-use {InUseBytes >> 20} " +
        $"free {FreeBytes >> 20} mapped {MappedBytes >> 20} ({MappedBlocks} blocks) MiB");
}
