using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Evaluation.SampleData;

public sealed class AdgenGeneratorTests
{
    [Fact]
    public void Output_IsDeterministicPerSeed_AndALlamaFactoryDatasetFolder()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();
        using var c = new TempDirectory();
        AdgenGenerator.Write(a.Path, 50, 10, seed: 3);
        AdgenGenerator.Write(b.Path, 50, 10, seed: 3);
        AdgenGenerator.Write(c.Path, 50, 10, seed: 4);
        Assert.Equal(File.ReadAllText(a.File("adgen_train.json")), File.ReadAllText(b.File("adgen_train.json")));
        Assert.NotEqual(File.ReadAllText(a.File("adgen_train.json")), File.ReadAllText(c.File("adgen_train.json")));
        var specs = Data.Datasets.DatasetInfo.Resolve(a.Path, "adgen_train,adgen_test");
        var (train, rejected) = Data.Datasets.DatasetReader.Read(specs[0], rawText: false);
        Assert.Equal(50, train.Count);
        Assert.Empty(rejected);
        var first = JsonDocument.Parse(File.ReadAllText(a.File("adgen_train.json"))).RootElement[0];
        Assert.Matches(@"^type#\w+\*color#\w+\*style#\w+\*material#\w+.*\*brand#\w+$", first.GetProperty("content").GetString());
        Assert.Contains(first.GetProperty("content").GetString()!.Split('*')[1].Split('#')[1], first.GetProperty("summary").GetString()!, StringComparison.OrdinalIgnoreCase);
    }
}
