using System.Text.Json.Nodes;
using ModelLedger.Data.Chat;
using ModelLedger.Data.Datasets;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Tokenization;
using ModelLedger.Testing;

namespace ModelLedger.Tuning.Data;

public sealed class DatasetTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TextTokenizer _tokenizer = TextTokenizer.Load(TestPaths.TinyStories);

    public void Dispose()
    {
        _tokenizer.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Alpaca_ShareGpt_AndOpenAiMessages_AllRead()
    {
        var specs = DatasetInfo.Resolve(TestPaths.Datasets, "stories, stories_chat,stories_openai");
        var counts = specs.Select(s => DatasetReader.Read(s, rawText: false)).Select(r => (r.Examples.Count, r.Rejected.Count)).ToList();
        Assert.Equal([(48, 0), (16, 0), (8, 0)], counts);
        var openAi = DatasetReader.Read(specs[2], false).Examples[0].Messages;
        Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant], openAi.Select(m => m.Role));
    }

    [Fact]
    public void BadRecords_AreReportedWithFileRecordAndField()
    {
        File.WriteAllText(_dir.File("bad.json"), """
            [{"instruction": "a", "output": "b"},
             {"instruction": "a"},
             {"instruction": 5, "output": "b"},
             {"instruction": "a", "output": "b", "history": [["x"]]},
             "text"]
            """);
        File.WriteAllText(_dir.File("dataset_info.json"), """{"bad": {"file_name": "bad.json"}}""");
        var (examples, rejected) = DatasetReader.Read(DatasetInfo.Resolve(_dir.Path, "bad")[0], false);
        Assert.Single(examples);
        Assert.Equal(["record 2: output: is missing", "record 3: instruction: must be a string, got 5",
            "record 4: history[0]: must be a pair [instruction, response] of strings", "record 5: (record): is not a JSON object"],
            rejected.Select(r => r.ToString()[(r.Source.Length + 2)..]));
    }

    [Fact]
    public void ShareGpt_OutOfTurnRoles_AreRejected()
    {
        File.WriteAllText(_dir.File("c.jsonl"), """{"conversations": [{"from": "gpt", "value": "hi"}]}""" + "\n");
        File.WriteAllText(_dir.File("dataset_info.json"), """{"c": {"file_name": "c.jsonl", "formatting": "sharegpt"}}""");
        var (_, rejected) = DatasetReader.Read(DatasetInfo.Resolve(_dir.Path, "c")[0], false);
        Assert.Contains("out of turn", rejected.Single().Reason, StringComparison.Ordinal);
        Assert.Equal(1, rejected.Single().Record);
    }

    [Fact]
    public void UnknownDatasetName_ListsTheDefinedOnes()
    {
        var error = Assert.Throws<UserError>(() => DatasetInfo.Resolve(TestPaths.Datasets, "storeis"));
        Assert.Contains("stories_chat", error.Hint!, StringComparison.Ordinal);
    }

    [Fact]
    public void Supervised_MasksThePromptUnlessTrainOnPrompt()
    {
        var example = new Example("x", 1, [new(ChatRole.User, "Who has the ball?"), new(ChatRole.Assistant, "Tom has it.")]);
        var template = ChatTemplate.Named("alpaca");
        var masked = SampleEncoder.Supervised([example], _tokenizer, template, 512, trainOnPrompt: false).Samples.Single();
        // LF's alpaca answer: {{content}}, EOS, "\n\n" — each text slot tokenized on its own.
        int[] answer = [.. _tokenizer.Encode("Tom has it."), 2, .. _tokenizer.Encode("\n\n")];
        Assert.Equal(answer, masked.Labels.Where(l => l != EncodedSample.Ignore));
        Assert.Equal(masked.Ids[^answer.Length..], masked.Labels[^answer.Length..]);
        var full = SampleEncoder.Supervised([example], _tokenizer, template, 512, trainOnPrompt: true).Samples.Single();
        Assert.Equal(full.Ids, full.Labels);
    }

    [Fact]
    public void Supervised_EfficientEos_LabelsEosAtTheNextPromptAndAppendsOne()
    {
        // LF's supervised processor with efficient_eos (solar): turn 2's first prompt token is labelled EOS, and one
        // EOS (input and label) ends the sequence; answers themselves carry none.
        var example = new Example("x", 1, [new(ChatRole.User, "Hi"), new(ChatRole.Assistant, "Hello."), new(ChatRole.User, "Bye"),
            new(ChatRole.Assistant, "Bye.")]);
        var template = ChatTemplate.Named("solar");
        var turns = template.EncodeTurns(_tokenizer, example.Messages);
        var sample = SampleEncoder.Supervised([example], _tokenizer, template, 512, trainOnPrompt: false).Samples.Single();
        int secondPrompt = turns[0].Prompt.Length + turns[0].Answer.Length;
        Assert.Equal(2, sample.Labels[secondPrompt]);
        Assert.Equal(2, sample.Ids[^1]);
        Assert.Equal(2, sample.Labels[^1]);
        Assert.Equal([.. turns[0].Answer, 2, .. turns[1].Answer, 2], sample.Labels.Where(l => l != EncodedSample.Ignore));
    }

    [Theory]
    // Worked by hand from LLaMA-Factory's infer_seqlen (processor_utils.py):
    [InlineData(10, 3, 8, 5, 3)]     // answer under half the budget: kept whole, prompt cut to the rest
    [InlineData(3, 10, 8, 3, 5)]     // prompt under half: kept whole, answer cut to 8 - 3
    [InlineData(10, 10, 8, 4, 4)]    // both long: int(8 * 10/20) = 4 for the answer, the rest for the prompt
    [InlineData(10, 30, 8, 2, 6)]    // int(8 * 30/40) = 6
    [InlineData(45, 13, 2, 2, 0)]    // int(2 * 13/58) = 0: no answer token left
    [InlineData(6, 2, 100, 6, 2)]    // fits: unchanged
    public void InferSeqLen_SplitsTheBudgetAsLlamaFactory(int prompt, int answer, int budget, int keptPrompt,
        int keptAnswer) =>
        Assert.Equal((keptPrompt, keptAnswer), SampleEncoder.InferSeqLen(prompt, answer, budget));

    [Fact]
    public void Supervised_CutsALongPromptAndKeepsTheShortAnswer()
    {
        var example = new Example("x", 3, [new(ChatRole.User, "a very long question about many things"),
            new(ChatRole.Assistant, "ok")]);
        var template = ChatTemplate.Named("alpaca");
        var (prompt, answer) = template.EncodeTurns(_tokenizer, example.Messages).Single();
        Assert.True(answer.Length * 2 < 16 && prompt.Length + answer.Length > 16);   // the case this test is about
        var (samples, rejected) = SampleEncoder.Supervised([example], _tokenizer, template, 16, false, out int cut);
        Assert.Empty(rejected);
        Assert.Equal(1, cut);
        // LF keeps the first 16 - |answer| prompt tokens, then the whole answer
        Assert.Equal([.. prompt[..(16 - answer.Length)], .. answer], samples.Single().Ids);
        Assert.Equal([.. Enumerable.Repeat(EncodedSample.Ignore, 16 - answer.Length), .. answer],
            samples.Single().Labels);
    }

    [Fact]
    public void Supervised_DropsSamplesWithNoAnswerTokenLeft()
    {
        var example = new Example("x", 3, [new(ChatRole.User, "a very long question about many things"),
            new(ChatRole.Assistant, "ok then")]);
        var (samples, rejected) = SampleEncoder.Supervised([example], _tokenizer, ChatTemplate.Named("alpaca"), 2,
            false);
        Assert.Empty(samples);
        Assert.Equal("cutoff_len", rejected.Single().Field);
    }

    [Fact]
    public void Pretrain_ConcatenatesDocumentsIntoBlocks()
    {
        var docs = Enumerable.Range(0, 5).Select(i => new Example("x", i, [], "Once upon a time there was a cat.")).ToList();
        var blocks = SampleEncoder.Pretrain(docs, _tokenizer, 16);
        Assert.All(blocks.SkipLast(1), b => Assert.Equal(16, b.Length));
        int perDoc = _tokenizer.Encode("Once upon a time there was a cat.").Length + 2;
        Assert.Equal(5 * perDoc, blocks.Sum(b => b.Length));
        Assert.Equal(1, blocks[0].Ids[0]);
    }

    [Fact]
    public void Pack_NumbersSegmentsAndRespectsCutoff()
    {
        var samples = new[] { 5, 3, 4, 2 }.Select(n => new EncodedSample(Enumerable.Repeat(7, n).ToArray(), Enumerable.Repeat(7, n).ToArray(), Enumerable.Repeat(1, n).ToArray()));
        var packs = SampleEncoder.Pack(samples, 8);
        Assert.All(packs, p => Assert.True(p.Length <= 8));
        Assert.Equal(14, packs.Sum(p => p.Length));
        Assert.Equal([1, 1, 1, 1, 1, 2, 2, 2], packs[0].Segments);
    }

    [Theory]
    // The first 8 records' alpaca prompts are 81-83 tokens and their answers 14-16 with this tokenizer (counted once
    // by hand), so LF splits the budget in proportion: at 8, int(8 * 14/95) = 1 answer token is kept and every
    // record is cut; at 2, int(2 * 16/99) = 0: all are dropped.
    [InlineData(8, "data: 8 records read, 8 kept, 0 dropped, 8 truncated to cutoff_len 8")]
    [InlineData(2, "data: 8 records read, 0 kept, 8 dropped")]
    public void RecordsCutByCutoffLen_AreCountedOnce(int cutoff, string line)
    {
        var path = _dir.File("t.yaml");
        File.WriteAllText(path, $"model_name_or_path: m\ndataset: stories\ndataset_dir: {TestPaths.Datasets}\n" +
            $"output_dir: o\ntemplate: alpaca\nmax_samples: 8\ncutoff_len: {cutoff}\n");
        var config = Config.TrainConfig.From(Config.RawConfig.Load(path, []));
        var log = new List<string>();
        try { TrainingData.Load(config, _tokenizer, log.Add); }
        catch (UserError) when (cutoff == 2) { }
        Assert.Contains(line, log);
    }
}
