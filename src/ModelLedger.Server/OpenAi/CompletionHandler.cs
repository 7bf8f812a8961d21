using System.Text;
using System.Text.Json;
using ModelLedger.Server.Keys;
using ModelLedger.Tuning.Serving;

namespace ModelLedger.Server.OpenAi;

/// <summary>
/// Answers chat and text completions: resolve the model, check the sampling fields against the limits, admit the
/// caller (billing quote), generate through the <see cref="ICompletionService"/>, answer whole or as server-sent events,
/// then meter what was produced. A client that disconnects mid-stream cancels its generation at the next token and
/// is billed for the tokens produced until then. Thread-safe (one instance serves every request).
/// </summary>
internal sealed class CompletionHandler(ServedModels models, ICompletionService service, ServingPrompts prompts,
    ServerLimits limits, Admission admission, TimeProvider clock)
{
    public async Task ChatAsync(HttpContext http)
    {
        var caller = admission.Authenticate(http);
        var body = await RequestReading.BodyAsync<ChatBody>(http.Request, limits.MaxBodyBytes, http.RequestAborted);
        var messages = RequestReading.Messages(body.Messages);
        int[] ids;
        try { ids = prompts.Chat(messages); }
        catch (UserError e) { throw ApiError.BadRequest(e.Message, "messages"); }
        var lastUser = messages.LastOrDefault(m => m.Role == Data.Chat.ChatRole.User)?.Content ?? "";
        await RunAsync(http, caller, body, ids, lastUser, chat: true);
    }

    public async Task TextAsync(HttpContext http)
    {
        var caller = admission.Authenticate(http);
        var body = await RequestReading.BodyAsync<TextBody>(http.Request, limits.MaxBodyBytes, http.RequestAborted);
        var prompt = RequestReading.Prompt(body.Prompt);
        await RunAsync(http, caller, body, prompts.Text(prompt), prompt, chat: false);
    }

    private async Task RunAsync(HttpContext http, ApiKey? caller, SamplingBody body, int[] promptIds,
        string promptText, bool chat)
    {
        var (adapter, directory) = models.Resolve(body.Model);
        var options = SamplingPlan.Options(body, prompts.Defaults, promptIds.Length,
            service.Base.Config.MaxPositionEmbeddings, limits.MaxTokens);
        if (chat) options = prompts.ForChat(options);
        var call = await admission.AdmitAsync(caller, http, models.BaseName, adapter, promptIds.Length,
            options.MaxNewTokens);
        var created = clock.GetUtcNow().ToUnixTimeSeconds();
        ResponseShape shape = chat ? new ChatShape($"chatcmpl-{call.Inference}", created, body.Model!)
            : new TextShape($"cmpl-{call.Inference}", created, body.Model!);
        var request = new CompletionRequest(promptIds, directory, options);
        var events = body.Stream == true ? new EventWriter(http.Response, http.RequestAborted) : null;
        var finished = events is null ? await WholeAsync(http, request)
            : await StreamAsync(http, request, shape, events);
        // Billed before the answer completes: a client holds a whole answer (or [DONE]) only once its bill is durable.
        await call.CompleteAsync(new Exchange(finished.PromptTokens, finished.CompletionTokens, promptText,
            finished.Text));
        if (finished.Cancelled) return;
        var usage = UsageBody.Of(finished.PromptTokens, finished.CompletionTokens);
        var reason = SamplingPlan.FinishReason(finished.Reason);
        if (events is null)
        {
            await WriteJsonAsync(http.Response, shape.Whole(finished.Text, reason, usage));
            return;
        }
        await events.WriteAsync(shape.Closing(reason));
        if (body.StreamOptions?.IncludeUsage == true) await events.WriteAsync(shape.Usage(usage));
        await events.DoneAsync();
    }

    private async Task<CompletionFinished> WholeAsync(HttpContext http, CompletionRequest request)
    {
        await foreach (var update in service.CompleteAsync(request, http.RequestAborted))
            if (update is CompletionFinished finished) return finished;
        throw new InvalidOperationException("the completion service ended without a CompletionFinished");
    }

    /// <summary>Streams the deltas; the closing chunks are written by the caller once the call is billed.</summary>
    private async Task<CompletionFinished> StreamAsync(HttpContext http, CompletionRequest request,
        ResponseShape shape, EventWriter events)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        if (shape.Opening() is object opening) await events.WriteAsync(opening);
        await foreach (var update in service.CompleteAsync(request, http.RequestAborted))
        {
            if (update is CompletionFinished finished) return finished;
            if (update is CompletionDelta { Text.Length: > 0 } delta) await events.WriteAsync(shape.Delta(delta.Text));
        }
        throw new InvalidOperationException("the completion service ended without a CompletionFinished");
    }

    internal static Task WriteJsonAsync(HttpResponse response, object body, int status = StatusCodes.Status200OK)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(body, body.GetType()), Encoding.UTF8);
    }
}

/// <summary>Server-sent events: <c>data: JSON</c> blocks, each flushed, then <c>data: [DONE]</c>. A write to a client
/// that has gone is dropped (generation notices the same disconnect through the request's token).</summary>
internal sealed class EventWriter(HttpResponse response, CancellationToken aborted)
{
    public Task WriteAsync(object body) => SendAsync($"data: {JsonSerializer.Serialize(body, body.GetType())}\n\n");

    public Task DoneAsync() => SendAsync("data: [DONE]\n\n");

    private async Task SendAsync(string block)
    {
        if (aborted.IsCancellationRequested) return;
        try
        {
            await response.WriteAsync(block, Encoding.UTF8, aborted);
            await response.Body.FlushAsync(aborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException) { }
    }
}
