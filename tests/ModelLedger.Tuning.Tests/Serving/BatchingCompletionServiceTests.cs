using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;

namespace ModelLedger.Tuning.Serving;

public sealed class BatchingCompletionServiceTests(ServingFixture fixture) : IClassFixture<ServingFixture>
{
    private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 24, StopTokenIds = [-1] };

    private static BatchingCompletionService Service(BatchingOptions? options = null) =>
        new(PretrainedModel.Load(TestPaths.TinyStories), options, ownsModel: true);

    private static async Task<(List<int> Tokens, CompletionFinished Final)> Run(ICompletionService service,
        CompletionRequest request, CancellationToken cancel = default, Action<int>? onToken = null)
    {
        var tokens = new List<int>();
        CompletionFinished? final = null;
        await foreach (var update in service.CompleteAsync(request, cancel))
        {
            if (update is CompletionDelta { TokenId: >= 0 } d)
            {
                tokens.Add(d.TokenId);
                onToken?.Invoke(tokens.Count);
            }
            if (update is CompletionFinished f) final = f;
        }
        return (tokens, final!);
    }

    private void AssertSameAsAlone(CompletionRequest request, (List<int> Tokens, CompletionFinished Final) served)
    {
        var alone = fixture.Alone(request.PromptIds, request.AdapterDirectory, request.Options);
        Assert.Equal(alone.TokenIds, served.Tokens);
        Assert.Equal(alone.Text, served.Final.Text);
        Assert.Equal(alone.FinishReason, served.Final.Reason);
        Assert.Equal((request.PromptIds.Length, alone.TokenIds.Length, false),
            (served.Final.PromptTokens, served.Final.CompletionTokens, served.Final.Cancelled));
    }

    [Fact]
    public async Task RowsWithDifferentAdapters_InOneBatch_EachMatchItsAdapterAlone()
    {
        await using var service = Service();
        var prompt = fixture.Prompt("Once upon a time, there was a little dog");
        string?[] adapters = [null, fixture.LoraA, fixture.LoraB, fixture.LoraNarrow, fixture.Prefix, fixture.LoraA];
        var requests = adapters.Select((a, i) => new CompletionRequest(i == 5 ? fixture.Prompt("The sun") : prompt, a,
            Greedy)).ToList();
        var served = await Task.WhenAll(requests.Select(r => Run(service, r)));
        for (int i = 0; i < requests.Count; i++) AssertSameAsAlone(requests[i], served[i]);
        // The adapters matter: every one changes the base's greedy output, so a row served with another's weights
        // (or none) would differ.
        foreach (int i in new[] { 1, 2, 3, 4 }) Assert.NotEqual(served[0].Tokens, served[i].Tokens);
    }

    [Fact]
    public async Task RequestsJoiningMidBatch_GetTheSameTokensAsAlone()
    {
        // Two rows, a small context: later requests wait for a free row, join a batch already decoding (shorter and
        // longer than what it holds), and columns are dropped as rows leave.
        await using var service = Service(new BatchingOptions { MaxBatch = 2, ContextTokens = 40 });
        var options = Greedy with { MaxNewTokens = 20 };
        var first = new CompletionRequest(fixture.Prompt("Lily"), fixture.LoraB, options with { MaxNewTokens = 30 });
        var joined = new TaskCompletionSource();
        var running = Run(service, first, onToken: n => { if (n == 6) joined.TrySetResult(); });
        await Task.WhenAny(joined.Task, running);   // a failing first request must not hang the test
        string[] texts = ["Tom had a big red ball and he liked to", "A cat", "One day, a bird", "The"];
        string?[] adapters = [fixture.LoraA, null, fixture.Prefix, fixture.LoraC];
        var later = texts.Select((t, i) => new CompletionRequest(fixture.Prompt(t), adapters[i], options)).ToList();
        var served = await Task.WhenAll(later.Select(r => Run(service, r)));
        AssertSameAsAlone(first, await running);
        for (int i = 0; i < later.Count; i++) AssertSameAsAlone(later[i], served[i]);
    }

    [Fact]
    public async Task SampledRows_DrawFromTheirOwnSeededGenerators()
    {
        await using var service = Service();
        var prompt = fixture.Prompt("Once upon a time");
        var sampled = Greedy with { Temperature = 0.9, TopP = 0.9, Seed = 7 };
        CompletionRequest[] requests =
        [
            new(prompt, fixture.LoraA, sampled),
            new(prompt, fixture.LoraA, sampled with { Seed = 8, RepetitionPenalty = 1.3 }),
            new(prompt, null, Greedy with { RepetitionPenalty = 1.3 }),
            new(prompt, null, Greedy),
        ];
        var served = await Task.WhenAll(requests.Select(r => Run(service, r)));
        for (int i = 0; i < requests.Length; i++) AssertSameAsAlone(requests[i], served[i]);
    }

    [Fact]
    public async Task CancelledRequest_EndsWithWhatItProduced_AndOthersContinue()
    {
        await using var service = Service();
        using var cancel = new CancellationTokenSource();
        var long1 = new CompletionRequest(fixture.Prompt("Once upon a time"), fixture.LoraA,
            Greedy with { MaxNewTokens = 400 });
        var other = new CompletionRequest(fixture.Prompt("Once upon a time"), fixture.LoraB, Greedy);
        var cancelled = Run(service, long1, cancel.Token, n => { if (n == 3) cancel.Cancel(); });
        var (tokens, final) = await cancelled;
        Assert.True(final.Cancelled);
        Assert.InRange(final.CompletionTokens, 3, 399);
        Assert.Equal(tokens.Count, final.CompletionTokens);
        AssertSameAsAlone(other, await Run(service, other));
    }

    [Fact]
    public async Task AdapterCache_EvictsTheLeastRecentlyUsed_WhenOverBudget()
    {
        var c = PretrainedModel.Load(TestPaths.TinyStories);
        // Slot bytes at rank 8 (the largest here) over all 7 projections of both layers, in fp32, worked out from
        // the config: per layer q (128+128) + k, v (128+64) ×2 + o (128+128) + gate, up (128+384) ×2
        // + down (384+128).
        long perLayer = 8L * 4 * ((128 + 128) + 2 * (128 + 64) + (128 + 128) + 2 * (128 + 384) + (384 + 128));
        long twoSlots = 2 * 2 * perLayer;
        await using var service = new BatchingCompletionService(c,
            new BatchingOptions { AdapterMemoryBytes = twoSlots }, ownsModel: true);
        var prompt = fixture.Prompt("Once upon a time");
        async Task Use(string adapter) => AssertSameAsAlone(new(prompt, adapter, Greedy),
            await Run(service, new CompletionRequest(prompt, adapter, Greedy)));
        await Use(fixture.LoraB);
        await Use(fixture.LoraA);
        await Use(fixture.LoraB);   // now A is the least recently used
        await Use(fixture.LoraC);
        Assert.Equal(1, service.Evictions);
        Assert.Equal(new[] { fixture.LoraB, fixture.LoraC }.Order(), service.LoadedAdapters.Order());
        await Use(fixture.LoraA);   // loads again, in B's place (B is now the least recent)
        Assert.Equal(new[] { fixture.LoraA, fixture.LoraC }.Order(), service.LoadedAdapters.Order());
    }

    [Fact]
    public async Task Dispose_EndsRunningRequestsAsCancelled_AndRefusesNewOnes()
    {
        var service = Service();
        var started = new TaskCompletionSource();
        var request = new CompletionRequest(fixture.Prompt("Once upon a time"), fixture.LoraA,
            Greedy with { MaxNewTokens = 400 });
        var running = Run(service, request, onToken: _ => started.TrySetResult());
        await Task.WhenAny(started.Task, running);
        await service.DisposeAsync();
        var (tokens, final) = await running;
        Assert.True(final.Cancelled);
        Assert.Equal(tokens.Count, final.CompletionTokens);
        Assert.InRange(final.CompletionTokens, 1, 399);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Run(service, request));
    }

    [Fact]
    public async Task AdapterLargerThanTheBudget_FailsThatRequestOnly()
    {
        await using var service = Service(new BatchingOptions { AdapterMemoryBytes = 1000 });
        var prompt = fixture.Prompt("Once upon a time");
        var error = await Assert.ThrowsAsync<UserError>(() => Run(service, new(prompt, fixture.LoraA, Greedy)));
        Assert.Contains("adapter memory budget", error.Message);
        AssertSameAsAlone(new(prompt, null, Greedy), await Run(service, new(prompt, null, Greedy)));
    }
}
