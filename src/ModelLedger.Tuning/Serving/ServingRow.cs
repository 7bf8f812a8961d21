using System.Threading.Channels;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Serving;

/// <summary>
/// One request from enqueue to its last update: its stream, sampler and text, and once admitted its place in the
/// decode batch (start column, the position of its last token) and its adapter. The scheduler thread alone touches
/// the row after enqueue; the caller only reads the stream. Disposing releases the sampler's generator.
/// </summary>
internal sealed class ServingRow : IDisposable
{
    private readonly Channel<CompletionUpdate> _updates =
        Channel.CreateUnbounded<CompletionUpdate>(
            new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Generator? _generator;
    private readonly HashSet<int> _stopIds;
    private readonly GeneratedText _text;
    private bool _done;

    public CompletionRequest Request { get; }
    public CancellationToken Cancellation { get; }
    public Sampler Sampler { get; }
    public ChannelReader<CompletionUpdate> Updates => _updates.Reader;
    /// <summary>Greedy without a repetition penalty: the batch may take one argmax over all such rows.</summary>
    public bool PlainGreedy => Request.Options.Temperature <= 0 && Request.Options.RepetitionPenalty == 1.0;

    public ServedAdapter? Adapter { get; set; }
    public int LoraSlot => Adapter?.Slot ?? 0;
    /// <summary>First cache column of this row in the decode batch.</summary>
    public int Start { get; set; }
    /// <summary>Position of <see cref="LastToken"/> (a prefix of P virtual tokens takes positions 0..P-1 and the
    /// prompt P..P+prompt-1, as in PEFT).</summary>
    public int Position { get; set; }
    public int LastToken { get; private set; }
    /// <summary>Tokens this row may produce: max_new_tokens, cut where its cache columns run out.</summary>
    public int TokenLimit { get; set; }

    public ServingRow(CompletionRequest request, PretrainedModel model, CancellationToken cancellation)
    {
        (Request, Cancellation) = (request, cancellation);
        var options = request.Options;
        _stopIds = (options.StopTokenIds.Count > 0 ? options.StopTokenIds : model.Tokenizer.EosIds).ToHashSet();
        _text = new GeneratedText(request.PromptIds, options.StopStrings, model);
        _generator = options.Temperature > 0 ? new Generator((ulong)options.Seed, model.Network.Device) : null;
        Sampler = new Sampler(options, _generator);
    }

    /// <summary>The ids seen so far [1, S] (prompt and output), for the repetition penalty.</summary>
    public Tensor Context(Device device) =>
        tensor(Request.PromptIds.Concat(_text.Tokens).Select(i => (long)i).ToArray(),
            [1, Request.PromptIds.Length + _text.Tokens.Count], device: device);

    /// <summary>Takes the next token and streams it; true when the row is finished (stop, or its limit).</summary>
    public bool Accept(int token)
    {
        LastToken = token;
        var delta = _text.Accept(token, _stopIds);
        _updates.Writer.TryWrite(new CompletionDelta(token, delta));
        if (_text.Finished) Finish(cancelled: false);
        else if (_text.Tokens.Count >= TokenLimit) Finish(cancelled: false);
        return _done;
    }

    /// <summary>Streams what was held back and the final count (once).</summary>
    public void Finish(bool cancelled)
    {
        if (_done) return;
        _done = true;
        var rest = _text.Flush();
        if (rest.Length > 0) _updates.Writer.TryWrite(new CompletionDelta(TokenEvent.NoToken, rest));
        var result = _text.Result();
        _updates.Writer.TryWrite(new CompletionFinished(result.FinishReason, Request.PromptIds.Length,
            result.TokenIds.Length, result.Text, cancelled));
        _updates.Writer.TryComplete();
    }

    /// <summary>Ends the stream with an error (bad adapter, failed forward pass).</summary>
    public void Fail(Exception error)
    {
        if (_done) return;
        _done = true;
        _updates.Writer.TryComplete(error);
    }

    public void Dispose() => _generator?.Dispose();
}
