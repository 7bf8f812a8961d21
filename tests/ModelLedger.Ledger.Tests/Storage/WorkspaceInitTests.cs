using ModelLedger.Testing;

namespace ModelLedger.Ledger.Storage;

public sealed class WorkspaceInitTests
{
    /// <summary>A folder shaped like a killed init's: the hidden name with 32 hex digits, the files init writes, and
    /// (unless <paramref name="fresh"/>) last written two minutes ago.</summary>
    private static string Leftover(string parent, string name, string suffix, bool fresh = false, params string[] files)
    {
        var folder = Path.Combine(parent, $".{name}.init-{suffix}");
        Directory.CreateDirectory(folder);
        foreach (var f in files.Length > 0 ? files : ["log.key", "ledger.json", "ledger.db", "ledger.db-wal"])
            File.WriteAllText(Path.Combine(folder, f), "x");
        var when = fresh ? DateTime.UtcNow : DateTime.UtcNow - LedgerWorkspace.StaleAfter - TimeSpan.FromMinutes(1);
        foreach (var f in Directory.EnumerateFiles(folder)) File.SetLastWriteTimeUtc(f, when);
        Directory.SetLastWriteTimeUtc(folder, when);
        return folder;
    }

    [Fact]
    public void Init_RemovesStaleLeftoversOfItsOwnKilledInits_AndNothingElse()
    {
        using var dir = new TempDirectory();
        var parent = dir.Sub("p");
        Directory.CreateDirectory(parent);
        string hex = new('a', 32), hex2 = "0123456789abcdef0123456789abcdef";
        var stale = Leftover(parent, "ws", hex);
        var stale2 = Leftover(parent, "ws", hex2, files: ["log.key"]);
        var running = Leftover(parent, "ws", new string('b', 32), fresh: true);
        var extraFile = Leftover(parent, "ws", new string('c', 32), files: ["log.key", "notes.txt"]);
        var shortName = Leftover(parent, "ws", "abc");
        var upperHex = Leftover(parent, "ws", new string('D', 32));
        var otherWorkspace = Leftover(parent, "other", hex);
        var withSubfolder = Leftover(parent, "ws", new string('e', 32));
        Directory.CreateDirectory(Path.Combine(withSubfolder, "sub"));
        Directory.SetLastWriteTimeUtc(withSubfolder, DateTime.UtcNow - TimeSpan.FromHours(1));

        using (LedgerWorkspace.Init(Path.Combine(parent, "ws"), "example.org/ledger", null)) { }

        Assert.False(Directory.Exists(stale));
        Assert.False(Directory.Exists(stale2));
        foreach (var kept in new[] { running, extraFile, shortName, upperHex, otherWorkspace, withSubfolder })
            Assert.True(Directory.Exists(kept), kept);
        Assert.True(File.Exists(Path.Combine(extraFile, "notes.txt")));
        // Nothing of the new init is left beside it either.
        Assert.Equal(6, Directory.GetDirectories(parent, ".*").Length);
    }
}
