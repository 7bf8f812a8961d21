using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Adapters;

namespace ModelLedger.Tuning.Serving;

public sealed class SerialCompletionServiceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static GenerationOptions Greedy(int tokens) =>
        new() { MaxNewTokens = tokens, StopTokenIds = [-1] };   // -1 is never drawn: every row runs to the limit

    private static async Task<(List<CompletionDelta> Deltas, CompletionFinished Finished)> Collect(
        ICompletionService service, CompletionRequest request, Action<int>? afterDelta = null,
        CancellationToken ct = default)
    {
        var deltas = new List<CompletionDelta>();
        CompletionFinished? finished = null;
        await foreach (var update in service.CompleteAsync(request, ct))
        {
            Assert.Null(finished);   // nothing follows the finish
            if (update is CompletionDelta d) { deltas.Add(d); afterDelta?.Invoke(deltas.Count); }
            else finished = Assert.IsType<CompletionFinished>(update);
        }
        return (deltas, Assert.IsType<CompletionFinished>(finished));
    }

    [Fact]
    public async Task Complete_StreamsWhatTextGeneratorProduces()
    {
        using var reference = PretrainedModel.Load(TestPaths.TinyStories);
        var prompt = reference.Tokenizer.Encode("Once upon a time", addSpecialTokens: true);
        var expected = new TextGenerator(reference).Generate([prompt], Greedy(12))[0];
        await using var service = new SerialCompletionService(PretrainedModel.Load(TestPaths.TinyStories));
        var (deltas, finished) = await Collect(service, new CompletionRequest(prompt, null, Greedy(12)));
        Assert.Equal(expected.TokenIds, deltas.Where(d => d.TokenId >= 0).Select(d => d.TokenId));
        Assert.Equal(expected.Text, string.Concat(deltas.Select(d => d.Text)));
        Assert.Equal(new CompletionFinished(FinishReason.Length, prompt.Length, 12, expected.Text, false), finished);
    }

    [Fact]
    public async Task Complete_Cancelled_StopsEarlyAndReportsTheTokensProduced()
    {
        await using var service = new SerialCompletionService(PretrainedModel.Load(TestPaths.TinyStories));
        using var cancel = new CancellationTokenSource();
        var request = new CompletionRequest([1, 147], null, Greedy(400));
        var (deltas, finished) = await Collect(service, request, n => { if (n == 3) cancel.Cancel(); }, cancel.Token);
        Assert.True(finished.Cancelled);
        Assert.Equal(deltas.Count(d => d.TokenId >= 0), finished.CompletionTokens);
        Assert.InRange(finished.CompletionTokens, 3, 399);
        Assert.Equal(string.Concat(deltas.Select(d => d.Text)), finished.Text);
        var next = await Collect(service, request with { Options = Greedy(2) });   // the gate was released
        Assert.Equal(2, next.Finished.CompletionTokens);
    }

    [Fact]
    public async Task ConcurrentRequests_EachUseTheirOwnAdapter()
    {
        var lora = TestAdapters.RandomLora(_dir.Sub("lora"), seed: 5);
        using var reference = PretrainedModel.Load(TestPaths.TinyStories);
        var prompt = reference.Tokenizer.Encode("The dog", addSpecialTokens: true);
        var generator = new TextGenerator(reference);
        var plain = generator.Generate([prompt], Greedy(10))[0].TokenIds;
        using var adapters = new AdapterSet(reference);
        adapters.Load(lora, "lora");
        var adapted = generator.Generate([prompt], Greedy(10))[0].TokenIds;
        Assert.NotEqual(plain, adapted);   // the adapter changes the answer, so a mix-up would show
        await using var service = new SerialCompletionService(PretrainedModel.Load(TestPaths.TinyStories));
        var requests = Enumerable.Range(0, 4)
            .Select(i => new CompletionRequest(prompt, i % 2 == 0 ? null : lora, Greedy(10))).ToArray();
        var results = await Task.WhenAll(requests.Select(r => Collect(service, r)));
        for (int i = 0; i < requests.Length; i++)
            Assert.Equal(i % 2 == 0 ? plain : adapted, results[i].Deltas.Where(d => d.TokenId >= 0).Select(d => d.TokenId));
        Assert.Single(service.LoadedAdapters);   // loaded once, cached
    }
}
