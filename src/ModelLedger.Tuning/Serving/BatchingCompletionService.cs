using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Serving;

/// <summary>
/// Continuous batching over one loaded base: requests join a running decode batch as soon as a row is free (their
/// prompt prefilled alone, then its cache copied in) and leave it when done, and rows of one forward pass may use
/// different adapters — LoRA per row through stacked weights in every projection (<see cref="MultiLoraLinear"/>),
/// P-Tuning v2 prefixes per row as cache columns. Adapters load on demand into an LRU cache with a byte budget.
/// One scheduler thread runs every forward pass; <see cref="CompleteAsync"/> is thread-safe. The service wraps the
/// model's projections (without a row selection they compute the base alone) and puts them back when disposed; it
/// disposes the model only when it owns it. Nobody else may run the network while the service lives.
/// </summary>
public sealed class BatchingCompletionService : ICompletionService
{
    private readonly ConcurrentQueue<ServingRow> _pending = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _enqueue = new();
    private readonly bool _ownsModel;
    private readonly LoraStacks _stacks;
    private readonly DecodeBatch _batch;
    private readonly AdapterCache _adapters;
    private readonly BatchScheduler _scheduler;

    public PretrainedModel Base { get; }

    public BatchingCompletionService(PretrainedModel model, BatchingOptions? options = null, bool ownsModel = false)
    {
        options ??= new BatchingOptions();
        var problems = options.Problems();
        if (problems.Count > 0) throw new UserError(string.Join("; ", problems));
        (Base, _ownsModel) = (model, ownsModel);
        int capacity = options.ContextTokens ?? Math.Min(model.Config.MaxPositionEmbeddings, 2048);
        _stacks = new LoraStacks(model.Network);
        _batch = new DecodeBatch(model, options.MaxBatch, capacity);
        _adapters = new AdapterCache(model, _stacks, options.AdapterMemoryBytes);
        _scheduler = new BatchScheduler(model, _batch, _stacks, _adapters);
        new Thread(Run) { IsBackground = true, Name = "mledger-batching" }.Start();
    }

    /// <summary>Directories of the adapters loaded now (for tests and diagnostics; a snapshot).</summary>
    internal IReadOnlyList<string> LoadedAdapters => _adapters.Loaded;

    internal int Evictions => _adapters.Evictions;

    public async IAsyncEnumerable<CompletionUpdate> CompleteAsync(CompletionRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Validate(request);
        // Cancelled by the caller, or when the caller stops reading (the row then stops at the next step).
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The scheduler owns the row from here and disposes it when the row ends.
        var row = new ServingRow(request, Base, abandon.Token);
        lock (_enqueue)   // nothing enqueues after shutdown began, so the scheduler's last drain sees every row
        {
            if (_stop.IsCancellationRequested)
            {
                row.Dispose();
                throw new ObjectDisposedException(nameof(BatchingCompletionService));
            }
            _pending.Enqueue(row);
        }
        _wake.Release();
        try
        {
            await foreach (var update in row.Updates.ReadAllAsync(CancellationToken.None)) yield return update;
        }
        finally
        {
            await abandon.CancelAsync();
        }
    }

    private void Validate(CompletionRequest request)
    {
        var problems = request.Options.Problems();
        if (problems.Count > 0) throw new UserError(string.Join("; ", problems));
        if (request.PromptIds.Length == 0)
            throw new UserError("the prompt has no tokens", hint: "it should at least hold BOS");
        int vocab = Base.Config.VocabSize;
        if (request.PromptIds.Any(id => id < 0 || id >= vocab))
            throw new UserError($"a prompt token id is outside the vocabulary (0..{vocab - 1})");
        if (request.AdapterDirectory is string dir && !Directory.Exists(dir))
            throw new UserError("adapter directory not found", file: dir);
        if (request.PromptIds.Length > _batch.Capacity)
            throw new UserError(
                $"the prompt has {request.PromptIds.Length} tokens but the context holds {_batch.Capacity}",
                hint: "shorten the prompt");
    }

    private void Run()
    {
        using var _ = inference_mode();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    _scheduler.Admit(_pending);
                    if (_scheduler.Rows == 0 && _pending.IsEmpty) _wake.Wait(_stop.Token);
                    else _scheduler.Step();
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested) { break; }
                catch (Exception e) { _scheduler.FailRunning(e); }   // the thread must outlive a failed pass
            }
        }
        finally
        {
            _scheduler.FinishAll(_pending);
            _stopped.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_enqueue)
        {
            if (_stop.IsCancellationRequested) return;
            _stop.Cancel();
        }
        _wake.Release();
        await _stopped.Task;
        _adapters.Dispose();
        _batch.Dispose();
        _stacks.Dispose();
        if (_ownsModel) Base.Dispose();
        _stop.Dispose();
        _wake.Dispose();
    }
}
