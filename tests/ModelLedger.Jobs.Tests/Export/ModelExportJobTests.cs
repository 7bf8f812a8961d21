using ModelLedger.Testing;
using ModelLedger.Tuning.Export;

namespace ModelLedger.Jobs.Export;

public sealed class ModelExportJobTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Export_ReportsPhaseMessagesThenResult_AndWritesTheCheckpoint()
    {
        var events = new List<JobEvent>();
        var output = _dir.File("hf");
        var result = new ModelExportJob().Run(new ExportRequest(TestPaths.TinyStories, null, output, ExportFormat.Hf),
            new JobEvents(events.Add), CancellationToken.None);
        Assert.Equal(output, result.Path);
        Assert.IsType<PhaseEvent>(events[0]);
        Assert.Contains(events, e => e is MessageEvent m && m.Message.Contains(output, StringComparison.Ordinal));
        var last = Assert.IsType<ResultEvent>(events[^1]);
        Assert.Equal("hf", last.Result["format"]!.GetValue<string>());
        // an HF checkpoint: config, weights and the tokenizer beside them (merge correctness: Tuning's export tests)
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
    }

    [Fact]
    public void Export_IntoTheBaseModelFolder_IsRefusedBeforeAnythingIsWritten()
    {
        var copy = _dir.CopyOf(TestPaths.TinyStories);
        var before = File.ReadAllBytes(Path.Combine(copy, "model.safetensors"));
        Assert.Throws<UserError>(() => new ModelExportJob().Run(
            new ExportRequest(copy, null, copy, ExportFormat.Hf, Overwrite: true), JobEvents.None, CancellationToken.None));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(copy, "model.safetensors")));
    }
}
