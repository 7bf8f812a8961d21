using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace ModelLedger.Datanets.Contributors;

/// <summary>
/// A contributor's Ed25519 key pair. The private key lives in <c>WORKSPACE/contributors/NAME.key</c> (mode 0600,
/// created once, never replaced) as <c>mledger-contributor-v1 NAME base64(seed)</c>. The key id is the first 8 bytes
/// of SHA-256(public key), hex. What a contributor signs for one record is
/// <see cref="Message"/>: a domain tag, the datanet and the record's content hash, so a signature cannot be replayed
/// into another datanet. Dispose to free the key.
/// </summary>
public sealed class ContributorKey : IDisposable
{
    private const string Header = "mledger-contributor-v1";
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    public string Name { get; }
    public byte[] PublicKey { get; }
    public string KeyId => KeyIdOf(PublicKey);

    private ContributorKey(string name, Key key)
    {
        (Name, _key) = (name, key);
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public static string KeyIdOf(byte[] publicKey) => Convert.ToHexStringLower(SHA256.HashData(publicKey).AsSpan(0, 8));

    public static string PathOf(string workspace, string name) =>
        Path.Combine(workspace, "contributors", $"{name}.key");

    /// <summary>Creates the key file; refuses when it exists (a key is never replaced).</summary>
    public static ContributorKey Create(string workspace, string name)
    {
        CheckName(name);
        var path = PathOf(workspace, name);
        if (File.Exists(path))
            throw new UserError($"contributor '{name}' already has a key; it is never replaced", file: path);
        var key = Key.Create(Ed25519,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
            writer.WriteLine($"{Header} {name} {Convert.ToBase64String(key.Export(KeyBlobFormat.RawPrivateKey))}");
        return new ContributorKey(name, key);
    }

    public static ContributorKey Load(string workspace, string name)
    {
        CheckName(name);
        var path = PathOf(workspace, name);
        if (!File.Exists(path))
            throw new UserError($"no key for contributor '{name}' in this workspace", file: path,
                hint: $"create one: mledger contributor create --name {name}");
        var parts = File.ReadAllText(path).Trim().Split(' ');
        byte[] seed;
        bool shaped = parts.Length == 3 && parts[0] == Header && parts[1] == name;
        try { seed = shaped ? Convert.FromBase64String(parts[2]) : []; }
        catch (FormatException) { seed = []; }
        if (seed.Length != 32) throw new UserError("is not a contributor key file", file: path);
        var key = Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
        return new ContributorKey(name, key);
    }

    public static byte[] Message(string datanet, string contentHash) =>
        Encoding.UTF8.GetBytes($"mledger-datanet-contribution-v1\n{datanet}\n{contentHash}\n");

    public byte[] Sign(string datanet, string contentHash) => Ed25519.Sign(_key, Message(datanet, contentHash));

    /// <summary>The verifying key from its 32 raw bytes (import once, verify many).</summary>
    public static PublicKey ImportPublic(byte[] publicKey) =>
        NSec.Cryptography.PublicKey.Import(Ed25519, publicKey, KeyBlobFormat.RawPublicKey);

    public static bool Verify(PublicKey key, string datanet, string contentHash, byte[] signature) =>
        signature.Length == 64 && Ed25519.Verify(key, Message(datanet, contentHash), signature);

    /// <summary>Contributor and datanet names become file names and ledger ids: 1–64 of [A-Za-z0-9._-], not
    /// starting with a dot.</summary>
    public static void CheckName(string name, string what = "contributor name")
    {
        if (name.Length is 0 or > 64 || name[0] == '.'
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new UserError($"{what} '{name}' must be 1-64 of A-Z a-z 0-9 . _ - (not starting with a dot)");
    }

    public void Dispose() => _key.Dispose();
}
