// Compiled twice: by MSBuild as an inline task (RoslynCodeTaskFactory, see Directory.Build.targets) and by the
// Engine tests (with MODELLEDGER_TESTS defined) to check the patched output copy.
//
// Why: libLibTorchSharp.so 0.107.0 lists GLIBCXX_3.4.32 (GCC 13) as a needed version, but its only symbol bound to
// it (std::ios_base_library_init) is never relocated. Debian 12 ships libstdc++ up to GLIBCXX_3.4.30, so the
// loader refuses the library. Marking that version-need entry weak (VER_FLG_WEAK) makes glibc warn instead.
using System;
using System.IO;
using System.Text;

public static class ElfVersionNeeds
{
    public const ushort VerFlagWeak = 0x2;
    private const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>Offset of the vna_flags field of the version-need entry named <paramref name="version"/>, or -1.</summary>
    public static long FindFlagsOffset(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("only 64-bit little-endian ELF is supported");
        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = (long)BitConverter.ToUInt64(elf, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 0x28);
            long strtab = (long)BitConverter.ToUInt64(elf, (int)(shoff + (long)link * shentsize + 0x18));
            long need = offset;
            while (true)
            {
                int count = BitConverter.ToUInt16(elf, (int)need + 2);
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int a = 0; a < count; a++)
                {
                    long name = strtab + BitConverter.ToUInt32(elf, (int)aux + 8);
                    if (ReadCString(elf, name) == version) return aux + 4;
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(elf, (int)need + 12);
                if (next == 0) break;
                need += next;
            }
        }
        return -1;
    }

    /// <summary>True when the system's libstdc++ defines <paramref name="version"/> (searched as a string in the file).</summary>
    public static bool SystemLibStdCxxHas(string version)
    {
        foreach (var path in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
            if (File.Exists(path)) return IndexOf(File.ReadAllBytes(path), Encoding.ASCII.GetBytes(version + "\0")) >= 0;
        return true; // no system libstdc++ to compare with: leave the library alone
    }

    /// <summary>Marks the need weak; writes a new file and renames it over the old one, so a hard link to the
    /// NuGet cache is never modified. Returns true when the file changed.</summary>
    public static bool MarkWeak(string path, string version)
    {
        var bytes = File.ReadAllBytes(path);
        long at = FindFlagsOffset(bytes, version);
        if (at < 0) return false;
        ushort flags = BitConverter.ToUInt16(bytes, (int)at);
        if ((flags & VerFlagWeak) != 0) return false;
        var temp = path + ".weak-tmp";
        File.Copy(path, temp, true);   // keeps the file mode
        using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write))
        {
            stream.Position = at;
            stream.Write(BitConverter.GetBytes((ushort)(flags | VerFlagWeak)), 0, 2);
        }
        File.Delete(path);
        File.Move(temp, path);
        return true;
    }

    private static string ReadCString(byte[] bytes, long at)
    {
        long end = at;
        while (end < bytes.Length && bytes[end] != 0) end++;
        return Encoding.ASCII.GetString(bytes, (int)at, (int)(end - at));
    }

    private static int IndexOf(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
}

#if !MODELLEDGER_TESTS
/// <summary>Applies <see cref="ElfVersionNeeds.MarkWeak"/> to every libLibTorchSharp.so in the build output.</summary>
public sealed class WeakenGlibcxxVersion : Microsoft.Build.Utilities.Task
{
    [Microsoft.Build.Framework.Required] public string OutputDirectory { get; set; } = "";
    public string Version { get; set; } = "GLIBCXX_3.4.32";

    public override bool Execute()
    {
        if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)
            || !Directory.Exists(OutputDirectory)) return true;
        if (ElfVersionNeeds.SystemLibStdCxxHas(Version)) return true;
        foreach (var lib in Directory.EnumerateFiles(OutputDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories))
            if (ElfVersionNeeds.MarkWeak(lib, Version))
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, $"marked {Version} weak in {lib}");
        return true;
    }
}
#endif
