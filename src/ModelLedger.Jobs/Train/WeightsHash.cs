using System.Security.Cryptography;

namespace ModelLedger.Jobs.Train;

/// <summary>The adapter_hash a training.run records: SHA-256 over the bytes of the run's saved weights files
/// (<c>*.safetensors</c> directly in output_dir, in ordinal name order, concatenated). Re-derive it with
/// <c>cat $(ls OUTPUT/*.safetensors | LC_ALL=C sort) | sha256sum</c>; checkpoints live in subfolders and are not
/// part of it.</summary>
public static class WeightsHash
{
    public static string? Of(string outputDir)
    {
        var files = Directory.Exists(outputDir)
            ? Directory.GetFiles(outputDir, "*.safetensors").Order(StringComparer.Ordinal).ToList()
            : [];
        if (files.Count == 0) return null;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var file in files)
        {
            using var stream = File.OpenRead(file);
            int read;
            while ((read = stream.Read(buffer)) > 0) sha.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
