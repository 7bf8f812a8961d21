namespace ModelLedger.Testing;

/// <summary>Where test inputs live: the repository's testdata/ (copies of the shared checkpoints, so tests run on a
/// clean clone without ../shared).</summary>
public static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string TinyStories => Path.Combine(RepositoryRoot, "testdata", "models", "TinyStories-656K");
    public static string Stories260K => Path.Combine(RepositoryRoot, "testdata", "models", "stories260K");
    public static string SampleTokenizer => Path.Combine(RepositoryRoot, "samples", "tokenizer");
    public static string Datasets => Path.Combine(RepositoryRoot, "testdata", "datasets");
    public static string Merkle => Path.Combine(RepositoryRoot, "testdata", "merkle");
    public static string SignedNote => Path.Combine(RepositoryRoot, "testdata", "signed-note");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ModelLedger.slnx"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (ModelLedger.slnx) above " + AppContext.BaseDirectory);
    }
}

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("mledger-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Sub(string name) => Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

    /// <summary>A copy of a model folder's files in a new sub-folder named like it, for tests that damage it.</summary>
    public string CopyOf(string source)
    {
        var copy = Sub(System.IO.Path.GetFileName(source));
        foreach (var file in Directory.GetFiles(source))
            System.IO.File.Copy(file, System.IO.Path.Combine(copy, System.IO.Path.GetFileName(file)));
        return copy;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }   // a still-open file on some platforms; the OS cleans temp
    }
}
