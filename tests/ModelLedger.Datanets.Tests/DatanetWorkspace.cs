using ModelLedger.Datanets.Storage;
using ModelLedger.Ledger;
using ModelLedger.Testing;

namespace ModelLedger.Datanets;

/// <summary>A fresh ledger workspace with contributors alice and bob and one datanet: what each test starts from.
/// Not shared between tests.</summary>
internal sealed class DatanetWorkspace : IDisposable
{
    public TempDirectory Dir { get; } = new();
    public LedgerWorkspace Ledger { get; }
    public DatanetService Service { get; }
    public DatanetRow Datanet { get; }

    public DatanetWorkspace(DatanetFormat format = DatanetFormat.Alpaca, long? quota = null)
    {
        Ledger = LedgerWorkspace.Init(Dir.Sub("ws"), "test.example/ledger", null);
        Service = new DatanetService(Ledger);
        Service.CreateContributor("alice");
        Service.CreateContributor("bob");
        Datanet = Service.CreateDatanet("net", format, "cc-by-4.0", null, quota);
    }

    /// <summary>Writes <paramref name="lines"/> to a new JSONL file and returns its path.</summary>
    public string Jsonl(string name, params string[] lines)
    {
        var path = Dir.File(name);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }

    public static string Alpaca(string instruction, string output) =>
        System.Text.Json.JsonSerializer.Serialize(new { instruction, output });

    public void Dispose()
    {
        Service.Dispose();
        Ledger.Dispose();
        Dir.Dispose();
    }
}
