namespace ModelLedger.Server.OpenAi;

/// <summary>The bodies one completion answers with, whole or streamed: chat (<c>chat.completion</c> and
/// <c>chat.completion.chunk</c>) or text (<c>text_completion</c>).</summary>
internal abstract class ResponseShape(string id, long created, string model)
{
    protected string Id => id;
    protected long Created => created;
    protected string Model => model;

    public abstract object Whole(string text, string finishReason, UsageBody usage);
    /// <summary>The chunk that opens a stream (chat: the assistant role), or null.</summary>
    public abstract object? Opening();
    public abstract object Delta(string text);
    public abstract object Closing(string finishReason);
    /// <summary>The last chunk when the client asked for stream_options.include_usage: no choices, the usage.</summary>
    public abstract object Usage(UsageBody usage);
}

internal sealed class ChatShape(string id, long created, string model) : ResponseShape(id, created, model)
{
    public override object Whole(string text, string finishReason, UsageBody usage) =>
        new ChatCompletionBody(Id, "chat.completion", Created, Model,
            [new ChatChoice(0, new AssistantMessage("assistant", text), finishReason)], usage);

    public override object? Opening() => Chunk(new ChunkDelta("assistant", ""), null);
    public override object Delta(string text) => Chunk(new ChunkDelta(null, text), null);
    public override object Closing(string finishReason) => Chunk(new ChunkDelta(null, null), finishReason);

    public override object Usage(UsageBody usage) =>
        new ChatChunkBody(Id, "chat.completion.chunk", Created, Model, [], usage);

    private ChatChunkBody Chunk(ChunkDelta delta, string? finishReason) =>
        new(Id, "chat.completion.chunk", Created, Model, [new ChunkChoice(0, delta, finishReason)], null);
}

internal sealed class TextShape(string id, long created, string model) : ResponseShape(id, created, model)
{
    public override object Whole(string text, string finishReason, UsageBody usage) =>
        Body([new TextChoice(0, text, null, finishReason)], usage);

    public override object? Opening() => null;
    public override object Delta(string text) => Body([new TextChoice(0, text, null, null)], null);
    public override object Closing(string finishReason) => Body([new TextChoice(0, "", null, finishReason)], null);
    public override object Usage(UsageBody usage) => Body([], usage);

    private TextCompletionBody Body(TextChoice[] choices, UsageBody? usage) =>
        new(Id, "text_completion", Created, Model, choices, usage);
}
