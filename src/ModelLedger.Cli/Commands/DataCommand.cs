using System.CommandLine;
using ModelLedger.Evaluation.SampleData;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger data adgen</c>: write the bundled advertising-copy dataset.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Required = true, Description = "Dataset folder to write (dataset_info.json + JSON files)" };
        var train = new Option<int>("--train") { DefaultValueFactory = _ => 1000 };
        var test = new Option<int>("--test") { DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var adgen = new Command("adgen", "Synthetic product-attributes → ad-copy dataset (AdGen's shape)") { output, train, test, seed };
        adgen.SetAction((p, _) =>
        {
            var (n, m) = AdgenGenerator.Write(p.GetValue(output)!, p.GetValue(train), p.GetValue(test), p.GetValue(seed));
            Console.Error.WriteLine($"wrote {n} training and {m} test examples to {p.GetValue(output)} (datasets adgen_train, adgen_test, adgen_corpus)");
            return Task.FromResult(ExitCodes.Ok);
        });
        return new Command("data", "Sample datasets") { adgen };
    }
}
