using System.Text.Json.Nodes;
using System.Threading.Channels;
using ModelLedger.Attribution.Rag;
using ModelLedger.Attribution.Spans;
using ModelLedger.Server.Billing;
using ModelLedger.Server.Management;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Gui;

/// <summary>
/// The Chat page's attribution routes (docs/gui.md). <c>POST /v1/gui/rag</c> answers a question from a documents
/// datanet through the base or a served adapter (<see cref="RagEngine"/>: BM25, a greedy answer, leave-one-out
/// ablation over the retrieved documents) and bills it like a completion (quote before generating, 402 when short),
/// crediting the documents' owners as the fee policy's document pool says (<see cref="RagCredit"/>, as
/// <c>mledger rag ask --bill</c>); an adapter's training attribution follows in the background as for a chat call.
/// <c>POST /v1/gui/spans</c> lists the spans of a text found verbatim in the snapshot a served adapter was trained on
/// (<see cref="TrainingSpans"/>, the suffix array of <c>mledger spans</c>). Both are open to every key, like
/// completions: a call is billed to the key's account, and the spans read what the ledger already makes public.
/// </summary>
internal static class GuiChatAttribution
{
    /// <summary>Above this many documents the ablation needs the surrogate's 64+ scored prompts; a chat answer keeps to
    /// exact leave-one-out (k + 1 prompts).</summary>
    public const int MaxDocuments = ContextAblation.ExactLimit;
    public const int DefaultMinTokens = 4, MaxSources = 10;

    public static void MapGuiChatAttribution(this RouteGroupBuilder group)
    {
        group.MapPost("/rag", AskAsync).WithSummary("Answer from a documents datanet (BM25 + leave-one-out " +
            "attribution of the retrieved documents), billed to the key's account with the documents' owners " +
            "credited");
        group.MapPost("/spans", SpansAsync).WithSummary("The spans of a text found verbatim in the snapshot a " +
            "served adapter was trained on, with the items and contributors holding them");
    }

    private static async Task<IResult> AskAsync(HttpContext http, ServerOptions options, ServedModels models,
        Admission admission, MeteringPool meters, RagEngine rag)
    {
        var caller = Access.Require(http, "ask with documents", Access.Anyone);
        var body = await Field.ObjectAsync(http, options);
        var model = Field.Text(body, "model");
        var datanet = Field.Text(body, "datanet");
        var question = Field.Text(body, "question");
        if (string.IsNullOrWhiteSpace(question)) throw ApiError.BadRequest("question is empty", "question");
        var (adapter, directory) = models.Resolve(model);
        int k = (int)Range(Field.OptionalLong(body, "k") ?? 4, 1, MaxDocuments, "k");
        int maxTokens = (int)Range(Field.OptionalLong(body, "max_tokens") ?? Math.Min(48, options.Limits.MaxTokens), 1,
            options.Limits.MaxTokens, "max_tokens");
        bool stream = Field.OptionalBool(body, "stream") ?? false;
        await meters.UseAsync(l => DatanetEndpoints.Require(l.Datanets, datanet));
        DocumentSet documents;
        try { documents = await Task.Run(() => new DatanetDocuments().Load(options.Workspace, options.Db, datanet)); }
        catch (UserError e) { throw ApiError.BadRequest(e.Message, "datanet"); }
        var request = new RagRequest(question, k, maxTokens);
        AdmittedCall? call = null;
        int promptTokens = 0;
        var deltas = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var asking = Task.Run(() => rag.Ask(directory, documents, request, http.RequestAborted, tokens =>
        {
            // The quote, once the retrieved documents make the prompt: refused here, nothing is generated.
            promptTokens = tokens;
            call = admission.AdmitAsync(caller, http, models.BaseName, adapter, tokens, maxTokens)
                .GetAwaiter().GetResult();
        }, stream ? d => deltas.Writer.TryWrite(d) : null));
        _ = asking.ContinueWith(_ => deltas.Writer.TryComplete(), TaskScheduler.Default);
        if (!stream) return Results.Json(await AnswerAsync(await Answered(asking), call!, promptTokens,
            documents, model, datanet, question));
        // Streamed: a refusal (402, no matching document) still answers with its status, because nothing is sent
        // before the first piece of text; after it, the reply is server-sent events: {"delta"} per piece, then the
        // whole result (as the plain reply, with the documents' attribution), then [DONE].
        if (!await deltas.Reader.WaitToReadAsync() && asking.IsFaulted) await Answered(asking);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var events = new EventWriter(http.Response, http.RequestAborted);
        await foreach (var delta in deltas.Reader.ReadAllAsync())
            await events.WriteAsync(new JsonObject { ["delta"] = delta });
        JsonObject final;
        try
        {
            var answered = await Answered(asking);
            final = await AnswerAsync(answered, call!, promptTokens, documents, model, datanet, question);
        }
        catch (ApiError e) { final = new JsonObject { ["error"] = new JsonObject { ["message"] = e.Message } }; }
        await events.WriteAsync(final);
        await events.DoneAsync();
        return Results.Empty;
    }

    /// <summary>The RAG call's result, its user errors as the 400 they are: no document shares a term with the
    /// question, prompt and answer exceed the context, or the adapter's folder cannot be loaded.</summary>
    private static async Task<RagResult> Answered(Task<RagResult> asking)
    {
        try { return await asking; }
        catch (UserError e)
        {
            var field = e.Field switch { "--k" => "k", "question" => "question", _ => "model" };
            throw ApiError.BadRequest(e.Message, field);
        }
    }

    private static async Task<JsonObject> AnswerAsync(RagResult result, AdmittedCall call, int promptTokens,
        DocumentSet documents, string model, string datanet, string question)
    {
        var credit = RagCredit.Of(result, documents, question);
        await call.CompleteAsync(new Exchange(promptTokens, result.AnswerIds.Length, question, result.Answer, credit));
        return new JsonObject
        {
            ["id"] = $"chatcmpl-{call.Inference}", ["inference"] = call.Inference, ["model"] = model,
            ["datanet"] = datanet, ["answer"] = result.Answer,
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = promptTokens, ["completion_tokens"] = result.AnswerIds.Length,
                ["total_tokens"] = promptTokens + result.AnswerIds.Length,
            },
            ["method"] = credit.Method, ["index_root"] = result.IndexRoot,
            ["answer_log_prob"] = result.AnswerLogProb, ["scored_prompts"] = result.Ablations + 1,
            ["documents"] = new JsonArray([.. result.Documents.Zip(credit.Shares, (d, s) => new JsonObject
            {
                ["rank"] = d.Rank, ["item"] = d.Item, ["contributor"] = d.Contributor, ["title"] = d.Title,
                ["retrieval_score"] = d.RetrievalScore, ["effect"] = d.Effect, ["share"] = d.Attribution,
                ["support"] = s.Support,
            })]),
            ["timings_ms"] = new JsonObject
            {
                ["retrieve"] = result.RetrieveMs, ["generate"] = result.GenerateMs, ["attribute"] = result.AttributeMs,
            },
        };
    }

    private static async Task<IResult> SpansAsync(HttpContext http, ServerOptions options, ServedModels models)
    {
        Access.Require(http, "read spans", Access.Anyone);
        var body = await Field.ObjectAsync(http, options);
        var model = Field.Text(body, "model");
        var text = Field.Text(body, "text");
        if (text.Length == 0) throw ApiError.BadRequest("text is empty", "text");
        int minTokens = (int)Range(Field.OptionalLong(body, "min_tokens") ?? DefaultMinTokens, 1, 1000, "min_tokens");
        var (_, directory) = models.Resolve(model);
        TrainingSpanResult found;
        try
        {
            found = await Task.Run(() => TrainingSpans.Find(directory, options.ModelDirectory, text, minTokens,
                MaxSources));
        }
        catch (UserError e) { throw ApiError.BadRequest(e.Describe(), "model"); }
        var answer = new JsonObject
        {
            ["model"] = model, ["min_tokens"] = minTokens, ["snapshot_root"] = found.SnapshotRoot,
            ["reason"] = found.Reason,
        };
        if (found.Spans?.Report is not { } report) return Results.Json(answer);
        answer["query_tokens"] = report.QueryTokens;
        answer["spans"] = new JsonArray([.. report.Spans.Select(s => new JsonObject
        {
            ["start"] = s.Start, ["end"] = s.End, ["tokens"] = s.End - s.Start, ["text"] = s.Text, ["count"] = s.Count,
            ["sources"] = new JsonArray([.. s.Sources.Select(o => new JsonObject
            {
                ["row"] = o.Row, ["item"] = o.Item, ["contributor"] = o.Contributor,
            })]),
        })]);
        answer["contributors"] = new JsonArray([.. report.Contributors.Select(c => new JsonObject
        {
            ["contributor"] = c.Contributor, ["share"] = c.Share,
        })]);
        answer["query_ms"] = found.Spans.QueryMs;
        return Results.Json(answer);
    }

    private static long Range(long value, long min, long max, string field) =>
        value >= min && value <= max ? value
            : throw ApiError.BadRequest($"{field} must be in [{min}, {max}] (got {value})", field);
}
