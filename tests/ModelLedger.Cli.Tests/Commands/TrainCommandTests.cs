using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

public sealed class TrainCommandTests
{
    private static string WriteConfig(TempDirectory dir, string extra = "")
    {
        var path = dir.File("train.yaml");
        File.WriteAllText(path, $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            dataset: stories,stories_chat
            dataset_dir: {TestPaths.Datasets}
            template: alpaca
            cutoff_len: 128
            learning_rate: 5.0e-3
            max_steps: 6
            per_device_train_batch_size: 4
            logging_steps: 2
            save_steps: 3
            output_dir: {Path.Combine(dir.Path, "out")}
            {extra}
            """);
        return path;
    }

    [Fact]
    public void Train_ThenGenerateWithAdapter_ThenExportGguf()
    {
        using var dir = new TempDirectory();
        var train = CliRunner.Run("train", WriteConfig(dir), "--lora_rank", "4", "seed=5");
        Assert.Equal(0, train.ExitCode);
        Assert.Contains("first sample (loss on [bracketed] text)", train.Stderr, StringComparison.Ordinal);
        Assert.Contains("trainable", train.Stderr, StringComparison.Ordinal);
        var output = Path.Combine(dir.Path, "out");
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "adapter_config.json"))))
            Assert.Equal(4, config.RootElement.GetProperty("r").GetInt32());
        Assert.Equal(3, File.ReadAllLines(Path.Combine(output, "trainer_log.jsonl")).Length);
        var generate = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--adapter", output, "--prompt", "Tom", "--max-new-tokens", "5", "--json");
        Assert.Equal(0, generate.ExitCode);
        // two adapters loaded at once; --use-adapter picks one per call, none gives the base model
        string[] both = ["generate", "--model", TestPaths.TinyStories, "--adapter", $"a={output}", "--adapter", $"b={output}", "--prompt", "Tom", "--max-new-tokens", "5", "--json"];
        var viaB = CliRunner.Run([.. both, "--use-adapter", "b"]);
        var viaNone = CliRunner.Run([.. both, "--use-adapter", "none"]);
        var baseOnly = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--prompt", "Tom", "--max-new-tokens", "5", "--json");
        Assert.Equal(JsonDocument.Parse(generate.Stdout).RootElement.GetProperty("token_ids").GetRawText(), JsonDocument.Parse(viaB.Stdout).RootElement.GetProperty("token_ids").GetRawText());
        Assert.Equal(JsonDocument.Parse(baseOnly.Stdout).RootElement.GetProperty("token_ids").GetRawText(), JsonDocument.Parse(viaNone.Stdout).RootElement.GetProperty("token_ids").GetRawText());
        Assert.Contains("adapter 'c' is not loaded", CliRunner.Run([.. both, "--use-adapter", "c"]).Stderr, StringComparison.Ordinal);
        var export = CliRunner.Run("export", "--model", TestPaths.TinyStories, "--adapter", output, "--out", Path.Combine(dir.Path, "gguf"), "--format", "gguf", "--gguf-type", "q8_0");
        Assert.Equal(0, export.ExitCode);
        Assert.True(File.Exists(export.Stdout.Trim()));
    }

    [Fact]
    public void BadConfig_ListsEveryProblemWithoutStackTrace()
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("train", WriteConfig(dir, "lora_rnk: 4\nwarmup_ratio: fast"));
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("lora_rnk: unknown key (did you mean lora_rank?)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("warmup_ratio: must be a number (got fast)", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
    }

    [Fact]
    public void SecondRun_IsRefusedUntilResumeIsAsked()
    {
        using var dir = new TempDirectory();
        var config = WriteConfig(dir);
        Assert.Equal(0, CliRunner.Run("train", config, "--max_steps", "3").ExitCode);
        var again = CliRunner.Run("train", config);
        Assert.Equal(ExitCodes.UserError, again.ExitCode);
        Assert.Contains("checkpoint-3", again.Stderr, StringComparison.Ordinal);
        var resumed = CliRunner.Run("train", config, "resume_from_checkpoint=latest");
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("resumed from", resumed.Stderr, StringComparison.Ordinal);
        Assert.Contains("training extended", resumed.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ResumeInANewProcess_ContinuesTheUninterruptedLossCurve()
    {
        using var dir = new TempDirectory();
        static double[] Losses(string output) => File.ReadAllLines(Path.Combine(output, "trainer_log.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetDouble()).ToArray();
        var config = WriteConfig(dir, "lr_scheduler_type: constant\nlora_dropout: 0.1");
        var whole = Path.Combine(dir.Path, "whole");
        Assert.Equal(0, CliRunner.Run("train", config, "--output_dir", whole, "--logging_steps", "1").ExitCode);
        var split = Path.Combine(dir.Path, "split");
        Assert.Equal(0, CliRunner.Run("train", config, "--output_dir", split, "--logging_steps", "1", "--max_steps", "3").ExitCode);
        Assert.Equal(0, CliRunner.Run("train", config, "--output_dir", split, "--logging_steps", "1", "resume_from_checkpoint=3").ExitCode);
        var expected = Losses(whole);
        var resumed = Losses(split);
        Assert.Equal(6, resumed.Length);
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], resumed[i], 5);
    }

    [Fact]
    public void PredictConfig_RunsBatchPrediction()
    {
        using var dir = new TempDirectory();
        var path = dir.File("predict.yaml");
        File.WriteAllText(path, $"""
            model_name_or_path: {TestPaths.TinyStories}
            stage: sft
            do_predict: true
            predict_with_generate: true
            finetuning_type: lora
            eval_dataset: stories
            dataset_dir: {TestPaths.Datasets}
            template: alpaca
            max_samples: 4
            max_new_tokens: 8
            output_dir: {Path.Combine(dir.Path, "predict")}
            """);
        var result = CliRunner.Run("train", path);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir.Path, "predict", "generated_predictions.jsonl")).Length);
        Assert.Contains("predict_rouge-l", File.ReadAllText(Path.Combine(dir.Path, "predict", "predict_results.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void BadDatasetRecord_IsNamedWithFileAndRecord()
    {
        using var dir = new TempDirectory();
        var data = dir.Sub("data");
        File.WriteAllText(Path.Combine(data, "d.jsonl"), "{\"instruction\": \"a\"}\n");
        File.WriteAllText(Path.Combine(data, "dataset_info.json"), """{"d": {"file_name": "d.jsonl"}}""");
        var result = CliRunner.Run("train", WriteConfig(dir), "--dataset", "d", "--dataset_dir", data);
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("d.jsonl: record 1: output: is missing", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Overwrite_WithABadDatasetName_KeepsTheFinishedRun()
    {
        using var dir = new TempDirectory();
        var config = WriteConfig(dir);
        Assert.Equal(0, CliRunner.Run("train", config, "--max_steps", "3").ExitCode);
        var output = Path.Combine(dir.Path, "out");
        var before = Directory.GetFileSystemEntries(output).Order(StringComparer.Ordinal).ToList();
        foreach (var bad in new[] { "dataset=nope", "lora_target=qq_proj", "device=tpu" })
        {
            var result = CliRunner.Run("train", config, "overwrite_output_dir=true", bad);
            Assert.Equal(ExitCodes.UserError, result.ExitCode);
            Assert.False(result.HasStackTrace, result.Stderr);
            Assert.Equal(before, Directory.GetFileSystemEntries(output).Order(StringComparer.Ordinal).ToList());
        }
    }

    [Fact]
    public void OutputDirThatIsAFile_IsOneLine()
    {
        using var dir = new TempDirectory();
        var file = dir.File("taken");
        File.WriteAllText(file, "mine");
        var result = CliRunner.Run("train", WriteConfig(dir), "--output_dir", file);
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("output_dir: output_dir is an existing file", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Fact]
    public void EventsJsonl_PrintsOneEventPerLine_EndingWithTheResult()
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("train", WriteConfig(dir), "--max_steps", "3", "--events", "jsonl");
        Assert.Equal(0, result.ExitCode);
        var events = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1, 2, 3], events.Where(e => e.GetProperty("type").GetString() == "step")
            .Select(e => e.GetProperty("step").GetInt32()));
        Assert.Equal("result", events[^1].GetProperty("type").GetString());
        Assert.Equal(3, events[^1].GetProperty("result").GetProperty("run").GetProperty("steps").GetInt32());
    }

    [Fact]
    public void ListKeys_AndHelp_ShowEveryKeyFromTheTable()
    {
        var list = CliRunner.Run("train", "--list-keys");
        var help = CliRunner.Run("train", "--help");
        Assert.Equal(0, list.ExitCode);
        foreach (var key in Tuning.Config.TrainKeys.All)
        {
            Assert.Contains(key.Name, list.Stdout, StringComparison.Ordinal);
            Assert.Contains(key.Name, help.Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("store per-example gradient sketches", list.Stdout, StringComparison.Ordinal);
        Assert.Equal(Tuning.Config.TrainKeys.MarkdownTable(), CliRunner.Run("train", "--list-keys", "markdown").Stdout);
    }

    [Fact]
    public void ParseError_IsOneLineWithAHint_Exit2()
    {
        var result = CliRunner.Run("eval", "--model");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Equal("hint: see mledger eval --help", lines[1]);
        Assert.Equal("", result.Stdout);
        Assert.Equal(ExitCodes.UserError, CliRunner.Run("trian").ExitCode);
    }
}
