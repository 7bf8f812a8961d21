namespace ModelLedger.Engine.Runtime;

/// <summary>
/// Which malloc this process runs on: ./mledger preloads jemalloc when it is installed (build/allocator.sh), and
/// peak-memory figures mean something different under each, so benchmarks print it beside them.
/// </summary>
public static class MallocLibrary
{
    /// <summary>"jemalloc", "tcmalloc" or "mimalloc" when one is mapped into this process, else "glibc".</summary>
    public static string InUse()
    {
        if (!OperatingSystem.IsLinux()) return "system";
        try
        {
            return FromMaps(File.ReadAllText("/proc/self/maps"));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>The allocator named by the file paths of a <c>/proc/PID/maps</c> text (the library's file name,
    /// not any path that merely contains the word).</summary>
    public static string FromMaps(string maps)
    {
        foreach (var line in maps.Split('\n'))
        {
            int slash = line.LastIndexOf('/');
            if (slash < 0) continue;
            var file = line[(slash + 1)..].Trim();
            foreach (var name in (string[])["jemalloc", "tcmalloc", "mimalloc"])
                if (file.StartsWith("lib" + name, StringComparison.Ordinal)) return name;
        }
        return "glibc";
    }
}
