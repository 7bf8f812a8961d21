using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;

namespace ModelLedger.Tuning.Serving;

/// <summary>
/// The simplest <see cref="ICompletionService"/>: one request at a time through <see cref="TextGenerator"/> (the
/// network has one state, so callers queue on a gate in arrival order). Adapters load on first use from their folder
/// (keyed by full path) and stay loaded; each request activates its own before generating. Cancellation stops at the
/// next token and still ends with a <see cref="CompletionFinished"/> carrying the counts. Thread-safe. Owns the model
/// when <c>ownsModel</c> is true and disposes it (and the loaded adapters) in <see cref="DisposeAsync"/>.
/// </summary>
public sealed class SerialCompletionService(PretrainedModel model, bool ownsModel = true) : ICompletionService
{
    /// <summary>How many updates generation may run ahead of the reader.</summary>
    public const int Lookahead = 16;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly AdapterSet _adapters = new(model);
    private readonly Dictionary<string, string> _loaded = new(StringComparer.Ordinal);   // full path -> name
    private readonly TextGenerator _generator = new(model);
    private bool _disposed;

    public PretrainedModel Base => model;

    /// <summary>Adapter folders loaded so far (full paths).</summary>
    public IReadOnlyCollection<string> LoadedAdapters
    {
        get { lock (_loaded) return _loaded.Keys.ToArray(); }
    }

    public async IAsyncEnumerable<CompletionUpdate> CompleteAsync(CompletionRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        bool admitted = true;
        try { await _gate.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { admitted = false; }
        if (!admitted)
        {
            // Cancelled while queued: nothing was generated, and the caller still gets its closing counts.
            yield return Cancelled(request, 0, "");
            yield break;
        }
        // Bounded: generation runs at most a few tokens ahead of its reader (a slow client paces it, and one that
        // hangs up is noticed before the whole answer has been computed).
        var updates = Channel.CreateBounded<CompletionUpdate>(new BoundedChannelOptions(Lookahead)
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
        });
        // A caller that stops reading early also stops the generation (and frees the gate) at the next token.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Generation blocks its thread for the whole request; run it off the caller's so the stream flows meanwhile.
        var run = Task.Run(() =>
        {
            try { Generate(request, updates.Writer, stop.Token); }
            catch (Exception e) { updates.Writer.TryComplete(e); }
            finally { _gate.Release(); }
        }, CancellationToken.None);
        try
        {
            await foreach (var update in updates.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                yield return update;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            // A reader that left early: drain so the generation thread's last writes never wait on a full channel.
            while (await updates.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
                while (updates.Reader.TryRead(out _)) { }
            await run.ConfigureAwait(false);
        }
    }

    private void Generate(CompletionRequest request, ChannelWriter<CompletionUpdate> writer, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _adapters.Activate(AdapterName(request.AdapterDirectory));
        int produced = 0;
        var text = new System.Text.StringBuilder();
        try
        {
            var result = _generator.Generate([request.PromptIds], request.Options, e =>
            {
                if (e.TokenId != TokenEvent.NoToken) produced++;
                text.Append(e.TextDelta);
                Put(writer, new CompletionDelta(e.TokenId, e.TextDelta), ct);
            }, ct)[0];
            Put(writer, new CompletionFinished(result.FinishReason, result.PromptIds.Length, result.TokenIds.Length,
                result.Text, Cancelled: false), CancellationToken.None);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Put(writer, Cancelled(request, produced, text.ToString()), CancellationToken.None);
        }
        writer.TryComplete();
    }

    /// <summary>Writes from the generation thread, waiting while the reader is <see cref="Lookahead"/> behind; a
    /// cancelled wait surfaces as the generation's cancellation.</summary>
    private static void Put(ChannelWriter<CompletionUpdate> writer, CompletionUpdate update, CancellationToken ct)
    {
        if (!writer.TryWrite(update)) writer.WriteAsync(update, ct).AsTask().GetAwaiter().GetResult();
    }

    private static CompletionFinished Cancelled(CompletionRequest request, int produced, string text) =>
        new(FinishReason.Length, request.PromptIds.Length, produced, text, Cancelled: true);

    /// <summary>The loaded name of an adapter folder, loading it first when new; null for the base model. Called
    /// under the gate.</summary>
    private string? AdapterName(string? directory)
    {
        if (directory is null) return null;
        var full = Path.GetFullPath(directory);
        lock (_loaded)
            if (_loaded.TryGetValue(full, out var known)) return known;
        var name = $"adapter{_loaded.Count}";
        _adapters.Load(full, name);
        lock (_loaded) _loaded[full] = name;
        return name;
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed) return;
            _disposed = true;
            _adapters.Dispose();
            if (ownsModel) model.Dispose();
        }
        finally { _gate.Release(); }
    }
}
