using ModelLedger.Testing;

namespace ModelLedger.Tuning.Config;

public sealed class TrainKeysTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Minimal = "model_name_or_path: m\ndataset: d\noutput_dir: o\n";

    private static TrainConfig Parse(string yaml, params string[] overrides) =>
        TrainConfig.From(RawConfig.Parse(yaml, "train.yaml", overrides));

    [Fact]
    public void EveryKey_HasHelpADefaultAndAUniqueName()
    {
        Assert.All(TrainKeys.All, k =>
        {
            Assert.False(string.IsNullOrWhiteSpace(k.Help), k.Name);
            Assert.False(string.IsNullOrWhiteSpace(k.Default), k.Name);
            Assert.DoesNotContain('|', k.Help);   // the docs table would break
        });
        Assert.Equal(TrainKeys.All.Count, TrainKeys.All.Select(k => k.Name).Distinct().Count());
        Assert.Contains(TrainKeys.All, k => k.Name == "attribution" && k.Default == "false");
    }

    [Fact]
    public void EveryKey_ParsesItsExample_AndLandsOnItsProperty()
    {
        foreach (var key in TrainKeys.All)
        {
            var config = Parse(Minimal, $"{key.Name}={key.Example}");
            // the canonical form reads each key back from its property: the example must be what it holds
            var value = config.ToCanonicalJson()[key.Name]!.ToString();
            Assert.True(value == key.Example || double.Parse(value, System.Globalization.CultureInfo.InvariantCulture)
                == double.Parse(key.Example, System.Globalization.CultureInfo.InvariantCulture), $"{key.Name}: {value}");
        }
    }

    [Fact]
    public void Defaults_ComeFromTheTable()
    {
        var c = Parse(Minimal);
        Assert.Equal(8, c.LoraRank);          // LLaMA-Factory: lora_rank 8
        Assert.Equal(5e-5, c.LearningRate);   // HF TrainingArguments: 5e-5
        Assert.Equal("cpu", c.Device);
        Assert.Equal("all", c.LoraTarget);
        Assert.False(c.Attribution);
        Assert.True(Parse(Minimal + "attribution: true\n").Attribution);
        Assert.True(c.GradientCheckpointing);   // LLaMA-Factory: on unless disable_gradient_checkpointing
    }

    [Fact]
    public void GradientCheckpointing_TakesEitherSpelling_AndRefusesAContradiction()
    {
        Assert.False(Parse(Minimal + "disable_gradient_checkpointing: true\n").GradientCheckpointing);
        Assert.False(Parse(Minimal + "gradient_checkpointing: false\n").GradientCheckpointing);
        Assert.True(Parse(Minimal + "gradient_checkpointing: true\ndisable_gradient_checkpointing: false\n")
            .GradientCheckpointing);
        Assert.False(Parse(Minimal + "gradient_checkpointing: false\ndisable_gradient_checkpointing: true\n")
            .GradientCheckpointing);
        var error = Assert.Throws<UserError>(() =>
            Parse(Minimal + "gradient_checkpointing: true\ndisable_gradient_checkpointing: true\n"));
        Assert.Contains("train.yaml:5: disable_gradient_checkpointing: contradicts gradient_checkpointing: true",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DocsTrainingMd_KeyTableEqualsTheTable()
    {
        var doc = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "docs", "training.md"));
        const string begin = "<!-- keys:begin (generated from TrainKeys; a test keeps it equal) -->\n", end = "<!-- keys:end -->";
        int from = doc.IndexOf(begin, StringComparison.Ordinal);
        Assert.True(from >= 0, "docs/training.md lacks the keys:begin marker");
        from += begin.Length;
        var table = doc[from..doc.IndexOf(end, from, StringComparison.Ordinal)];
        Assert.Equal(TrainKeys.MarkdownTable(), table);
    }

    [Fact]
    public void DeviceAndLoraTarget_AreCheckedWithEveryOtherProblem()
    {
        var error = Assert.Throws<UserError>(() => Parse(Minimal + "device: tpu\nlora_target: q_proj,qq_proj\nlora_rank: 0\n"));
        Assert.Contains("train.yaml:4: device: unknown device 'tpu'", error.Message, StringComparison.Ordinal);
        Assert.Contains("train.yaml:5: lora_target: unknown module(s) qq_proj", error.Message, StringComparison.Ordinal);
        Assert.Contains("train.yaml:6: lora_rank: must be ≥ 1 (got 0)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fp4WithEightBits_IsRefused()
    {
        var error = Assert.Throws<UserError>(() => Parse(Minimal + "quantization_bit: 8\nquantization_type: fp4\n"));
        Assert.Contains("quantization_type: fp4 is a 4-bit code", error.Message, StringComparison.Ordinal);
        Assert.Equal(QuantizationType.Fp4, Parse(Minimal + "quantization_bit: 4\nquantization_type: fp4\n").QuantizationType);
    }

    [Fact]
    public void TabIndentation_NamesTheTabsLine()
    {
        var error = Assert.Throws<UserError>(() => RawConfig.Parse("a: 1\nb:\n  - x\n\t- y\nc: 2\n", "t.yaml", []));
        Assert.Equal(4, error.Line);
        Assert.Contains("tab", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_IsReadLikeYaml()
    {
        var c = Parse("""{"model_name_or_path": "m", "dataset": "d", "output_dir": "o", "lora_rank": 4}""");
        Assert.Equal(4, c.LoraRank);
        Assert.Equal(8.0, c.LoraAlpha);   // 2 × rank
    }

    [Fact]
    public void CanonicalHash_ChangesWithAnyKey_AndIgnoresKeyOrder()
    {
        var a = Parse(Minimal + "lora_rank: 4\nseed: 1\n");
        var b = Parse("seed: 1\nlora_rank: 4\n" + Minimal);
        Assert.Equal(a.CanonicalHash(), b.CanonicalHash());
        Assert.NotEqual(a.CanonicalHash(), (a with { Seed = 2 }).CanonicalHash());
        Assert.Equal(TrainKeys.All.Count, a.ToCanonicalJson().Count);
    }
}
