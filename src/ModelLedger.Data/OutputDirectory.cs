namespace ModelLedger.Data;

/// <summary>
/// The checks every verb that writes a folder (export, init-model, eval) runs before it loads or computes anything:
/// the output is not a file, is not one of the inputs (or inside one), and is empty unless the user said overwrite.
/// Nothing here touches the disk; the caller creates the folder when it is about to write.
/// </summary>
public static class OutputDirectory
{
    /// <summary>Throws a <see cref="UserError"/> naming <paramref name="field"/> when <paramref name="output"/> cannot
    /// be written safely; returns its full path.</summary>
    /// <param name="inputs">Folders (or files) the command reads; writing into one would replace what it reads.</param>
    public static string Check(string output, string field, bool overwrite, params string?[] inputs)
    {
        var full = Canonical(output);
        if (File.Exists(full))
            throw new UserError("is an existing file, not a folder", file: output, field: field,
                hint: "choose a folder path");
        if (FileAncestor(full) is string blocking)
            throw new UserError($"{blocking} is a file, so this folder cannot be created", file: output, field: field,
                hint: "choose a folder path");
        foreach (var input in inputs)
        {
            if (input is null) continue;
            var source = Canonical(input);
            if (File.Exists(source)) source = Path.GetDirectoryName(source)!;
            if (IsSameOrInside(full, source))
                throw new UserError($"is the input {input} (or inside it); writing there would replace what is read",
                    file: output, field: field, hint: "choose a separate output folder");
        }
        if (!overwrite && Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            throw new UserError("folder is not empty; not overwriting", file: output, field: field,
                hint: "choose an empty or new folder, or pass --overwrite to replace the files written there");
        return full;
    }

    private static string? FileAncestor(string path)
    {
        for (var parent = Path.GetDirectoryName(path); parent is not null; parent = Path.GetDirectoryName(parent))
            if (File.Exists(parent)) return parent;
        return null;
    }

    /// <summary>Full path with links resolved for the part that exists, so a link to the input is caught.</summary>
    private static string Canonical(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var existing = full;
        var rest = new Stack<string>();
        while (!Directory.Exists(existing) && !File.Exists(existing))
        {
            var parent = Path.GetDirectoryName(existing);
            if (parent is null) return full;
            rest.Push(Path.GetFileName(existing));
            existing = parent;
        }
        FileSystemInfo info = Directory.Exists(existing) ? new DirectoryInfo(existing) : new FileInfo(existing);
        var resolved = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? ResolveParents(existing);
        while (rest.Count > 0) resolved = Path.Combine(resolved, rest.Pop());
        return Path.TrimEndingDirectorySeparator(resolved);
    }

    /// <summary>The path with any linked parent folder replaced by its target.</summary>
    private static string ResolveParents(string path)
    {
        var parent = Path.GetDirectoryName(path);
        if (parent is null) return path;
        var resolvedParent = new DirectoryInfo(parent).ResolveLinkTarget(returnFinalTarget: true)?.FullName
            ?? ResolveParents(parent);
        return Path.Combine(resolvedParent, Path.GetFileName(path));
    }

    private static bool IsSameOrInside(string path, string folder)
    {
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return path.Equals(folder, comparison)
            || path.StartsWith(folder + Path.DirectorySeparatorChar, comparison);
    }
}
