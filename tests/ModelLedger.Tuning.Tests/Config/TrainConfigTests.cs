using ModelLedger.Testing;

namespace ModelLedger.Tuning.Config;

public sealed class TrainConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private RawConfig Yaml(string text, params string[] overrides)
    {
        var path = _dir.File("train.yaml");
        File.WriteAllText(path, text);
        return RawConfig.Load(path, overrides);
    }

    private const string Minimal = "model_name_or_path: m\ndataset: d\noutput_dir: o\n";

    [Fact]
    public void Defaults_FollowLlamaFactory()
    {
        var c = TrainConfig.From(Yaml(Minimal + "lora_rank: 16\n"));
        Assert.Equal(FinetuningType.Lora, c.FinetuningType);
        Assert.Equal(32, c.LoraAlpha);   // 2 x rank
        Assert.Equal(Stage.Sft, c.Stage);
        Assert.False(c.Packing);
        Assert.True(TrainConfig.From(Yaml(Minimal + "stage: pt\n")).Packing);
    }

    [Fact]
    public void Overrides_AcceptKeyValueAndDashDashForms()
    {
        var c = TrainConfig.From(Yaml(Minimal + "learning_rate: 1.0e-3\n", "--learning_rate", "2e-4", "lora_rank=4", "--num-train-epochs=5", "--bf16"));
        Assert.Equal(2e-4, c.LearningRate);
        Assert.Equal(4, c.LoraRank);
        Assert.Equal(5, c.NumTrainEpochs);
        Assert.True(c.Bf16);
    }

    [Fact]
    public void Problems_AreAllReportedWithLinesAndSuggestions()
    {
        var raw = Yaml("model_name_or_path: m\nlearning_rat: 1e-4\nlora_rank: 0\nfinetuning_type: prefix\nlora_r: 8\n");
        var error = Assert.Throws<UserError>(() => TrainConfig.From(raw));
        var path = _dir.File("train.yaml");
        Assert.Contains($"{path}:2: learning_rat: unknown key (did you mean learning_rate?)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{path}:3: lora_rank: must be ≥ 1 (got 0)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{path}:4: finetuning_type: must be one of lora, full, freeze, ptuning (got prefix)", error.Message, StringComparison.Ordinal);
        Assert.Contains("lora_r: renamed: use lora_rank", error.Message, StringComparison.Ordinal);
        Assert.Contains("dataset: is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("output_dir: is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IgnoredKeys_AreNotedNotRejected()
    {
        var notes = new List<string>();
        TrainConfig.From(Yaml(Minimal + "plot_loss: true\nreport_to: none\n"), notes.Add);
        Assert.Equal(2, notes.Count);
    }

    [Fact]
    public void BadYaml_PointsAtTheLine()
    {
        var error = Assert.Throws<UserError>(() => Yaml("a: 1\nb: [unclosed\n"));
        Assert.NotNull(error.Line);
    }

    [Fact]
    public void QuantizationWithoutLora_IsRejected()
    {
        var error = Assert.Throws<UserError>(() => TrainConfig.From(Yaml(Minimal + "finetuning_type: full\nquantization_bit: 4\n")));
        Assert.Contains("QLoRA", error.Message, StringComparison.Ordinal);
    }
}
