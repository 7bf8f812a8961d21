using System.Text.Json.Nodes;
using ModelLedger.Testing;

namespace ModelLedger.Jobs.Queue;

public sealed class JobPayloadsTests
{
    /// <summary>A payload whose config is a valid training config plus <paramref name="extra"/> lines.</summary>
    internal static string Payload(string extra) => new JsonObject
    {
        ["config"] = $"model_name_or_path: {TestPaths.TinyStories}\ndataset: stories\noutput_dir: out\n{extra}",
    }.ToJsonString();

    [Fact]
    public void For_NamesTheFileAndLineOfABadKey()
    {
        var error = Assert.Throws<UserError>(() => JobPayloads.For(JobPayloads.Train,
            "model_name_or_path: m\ndataset: d\noutput_dir: o\nlearning_rat: 0.1\n", "my.yaml", null));
        Assert.Contains("my.yaml", error.Describe(), StringComparison.Ordinal);
        Assert.Contains("learning_rat", error.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void For_RefusesAKindNoWorkerRuns()
    {
        var error = Assert.Throws<UserError>(() => JobPayloads.For("export",
            "model_name_or_path: m\ndataset: d\noutput_dir: o\n", "my.yaml", null));
        Assert.Equal("kind", error.Field);
    }

    [Fact]
    public void Check_RefusesAPredictConfigAsTrain_AndTheOtherWayRound()
    {
        var predict = Payload("do_predict: true\npredict_with_generate: true\n");
        Assert.Equal("kind", Assert.Throws<UserError>(() => JobPayloads.Check(JobPayloads.Train, predict)).Field);
        JobPayloads.Check(JobPayloads.Predict, predict);
        Assert.Equal("kind", Assert.Throws<UserError>(() => JobPayloads.Check(JobPayloads.Predict, Payload(""))).Field);
    }

    [Fact]
    public void Check_RefusesUnknownKeysAndARelativeWorkingDir()
    {
        var extra = JsonNode.Parse(Payload(""))!.AsObject();
        extra["priority"] = 1;
        Assert.Throws<UserError>(() => JobPayloads.Check(JobPayloads.Train, extra.ToJsonString()));
        var relative = JsonNode.Parse(Payload(""))!.AsObject();
        relative["working_dir"] = "relative/dir";
        Assert.Equal("working_dir",
            Assert.Throws<UserError>(() => JobPayloads.Check(JobPayloads.Train, relative.ToJsonString())).Field);
    }
}
