using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Attribution.Rag;
using Spectre.Console;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger rag ask</c>: answer a question from BM25-retrieved documents and attribute the answer to
/// them by ablation. Documents come from a snapshot folder, or from a datanet through <see cref="IDatanetDocuments"/>.</summary>
internal static class RagCommand
{
    public static Command Create(IDatanetDocuments? datanets = null)
    {
        datanets ??= new SnapshotOnlyDatanets();
        var model = new ModelOptions();
        var question = new Argument<string>("question") { Description = "The question" };
        var datanet = new Option<string?>("--datanet") { Description = "A documents datanet in the workspace" };
        var snapshot = new Option<string?>("--snapshot") { Description = "A documents snapshot folder (data.jsonl {title,text} + provenance.jsonl)" };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 4, Description = "Documents retrieved (exact leave-one-out up to 8, a sparse surrogate above)" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 48, Description = "Longest answer, in tokens" };
        var ablations = new Option<int>("--ablations") { DefaultValueFactory = _ => 64, Description = "Random ablations for the surrogate (k > 8)" };
        var design = new Option<SurrogateDesign>("--surrogate")
        {
            DefaultValueFactory = _ => SurrogateDesign.Confirmed,
            Description = "Surrogate design above 8 documents: confirmed (local Lasso + exact check of the top), local, contextcite",
        };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed of the random ablations" };
        var workspace = new Option<string?>("--workspace") { Description = "Ledger workspace: append an attribution event (and where --datanet lives; default .mledger)" };
        var db = new Option<string?>("--db") { Description = "PostgreSQL connection string of the workspace" };
        var inference = new Option<string?>("--inference") { Description = "Inference id the event refers to (default: a hash of question and answer)" };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var ask = new Command("ask", "Answer from retrieved documents and attribute the answer to them")
        {
            question, datanet, snapshot, k, maxNew, ablations, design, seed, workspace, db, inference, json,
        };
        var billing = new BillingOptions(workspace, inference);
        ask.With(model.All).With(billing.All);
        ask.SetAction((p, ct) =>
        {
            var request = new RagRequest(p.GetValue(question)!, p.GetValue(k), p.GetValue(maxNew), p.GetValue(ablations), p.GetValue(seed),
                p.GetValue(workspace), p.GetValue(db), p.GetValue(inference), p.GetValue(design));
            RagAsk.Validate(request);
            var documents = (p.GetValue(datanet), p.GetValue(snapshot)) switch
            {
                (string name, null) => datanets.Load(p.GetValue(workspace) ?? ".mledger", p.GetValue(db), name),
                (null, string dir) => DocumentSet.FromSnapshot(dir),
                _ => throw new UserError("pass exactly one of --datanet NAME and --snapshot DIR", field: "--datanet"),
            };
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            using var billed = billing.Prepare(p, model);
            var result = billed is null ? new RagAsk(loaded, documents).Ask(request, ct) : Billed(loaded, documents, request, billed, ct);
            if (p.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(result, SpansCommand.Json));
            else Render(result);
            return Task.FromResult(ExitCodes.Ok);
        });
        return new Command("rag", "Retrieval-augmented answers with document attribution") { ask };
    }

    /// <summary>A billed answer: quoted once the documents are retrieved, refused before generating when the caller
    /// cannot pay; the metered attribution event carries each retrieved document's owner, share, ablation effect and
    /// answer support (the answer's new content words found in the document's title and text), and the question's id
    /// (documents without effect have share 0) instead of rag's own event.</summary>
    private static RagResult Billed(Engine.Models.PretrainedModel model, DocumentSet documents, RagRequest request, Billing billed,
        CancellationToken ct)
    {
        request = request with { Workspace = null, Inference = request.Inference ?? Guid.NewGuid().ToString("N") };
        Rewards.Metering.BillingSession? bill = null;
        int promptTokens = 0;
        try
        {
            var result = new RagAsk(model, documents).Ask(request, ct, tokens =>
            {
                promptTokens = tokens;
                bill = billed.Begin(tokens, request.MaxNewTokens, inference: request.Inference);
            });
            BillingOptions.Report(bill!.Complete(promptTokens, result.AnswerIds.Length, request.Question, result.Answer,
                RagCredit.Of(result, documents, request.Question)));
            return result;
        }
        finally { bill?.Dispose(); }
    }

    /// <summary><c>mledger bench rag</c>: does removing the top-attributed document hurt the answer more than removing
    /// a random retrieved one? (synthetic one-fact documents; --questions 4 is the smoke mode).</summary>
    public static Command BenchVerb()
    {
        var model = new ModelOptions();
        var questions = new Option<int>("--questions") { DefaultValueFactory = _ => 20, Description = "Questions per setting (4 = smoke)" };
        var settings = new Option<string>("--settings") { DefaultValueFactory = _ => "4:0,10:64",
            Description = "k:ablations[:design] settings (design: confirmed, local or contextcite; default confirmed)" };
        var report = new Option<string?>("--report") { Description = "Also write the table as markdown to this file" };
        var json = new Option<bool>("--json") { Description = "Rows as one JSON object on stdout" };
        var command = new Command("rag", "RAG attribution: top-attributed vs random document removal") { questions, settings, report, json };
        command.With(model.All);
        command.SetAction((p, _) =>
        {
            var pairs = ParseSettings(p.GetValue(settings)!, "--settings");
            if (p.GetValue(questions) < 1) throw new UserError("must be ≥ 1", field: "--questions");
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            var rows = Bench.RagValidation.Run(loaded, p.GetValue(questions), pairs, Console.Error.WriteLine);
            var markdown = Markdown(rows);
            Console.WriteLine(p.GetValue(json) ? JsonSerializer.Serialize(new { model = loaded.Directory, rows }, SpansCommand.Json) : markdown);
            if (p.GetValue(report) is string file) File.WriteAllText(file, markdown);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>k:ablations[:design] settings ("4:0,10:64:contextcite") as <c>bench rag</c> and
    /// <c>bench attribution</c> take them.</summary>
    internal static List<(int K, int Ablations, SurrogateDesign Design)> ParseSettings(string text, string field) =>
        text.Split(',').Select(x => x.Split(':') is [var a, var b, .. var rest] && rest.Length <= 1
            && int.TryParse(a, CultureInfo.InvariantCulture, out int k) && int.TryParse(b, CultureInfo.InvariantCulture, out int n) && k >= 2
            && (rest.Length == 0 ? SurrogateDesign.Confirmed : Enum.TryParse<SurrogateDesign>(rest[0], ignoreCase: true, out var d) ? d : (SurrogateDesign)(-1))
                is var design && Enum.IsDefined(design)
            ? (k, n, design) : throw new UserError($"'{x}' is not k:ablations[:design] with k ≥ 2 and design confirmed, local or contextcite", field: field))
            .ToList();

    internal static string Markdown(IEnumerable<Bench.RagBenchRow> rows) =>
        "| method | k | questions | top beats random | top is gold | BM25 first is gold | top drop (nats) | random drop (nats) "
        + "| prompts/question | ms/question |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" + string.Concat(rows.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"| {r.Method} | {r.K} | {r.Questions} | {r.TopBeatsRandom:P0} | {r.TopIsGold:P0} | {r.Bm25TopIsGold:P0} | {r.MeanTopDropNats:F3} | {r.MeanRandomDropNats:F3} | {r.PromptsPerQuestion:F1} | {r.MsPerQuestion:F0} |\n")));

    private static void Render(RagResult result)
    {
        AnsiConsole.MarkupLine($"[bold]answer:[/] {Markup.Escape(result.Answer)}");
        var table = new Table().AddColumns("#", "item", "contributor", "title", "BM25", "effect (nats)", "attribution");
        foreach (var d in result.Documents)
            table.AddRow(d.Rank.ToString(CultureInfo.InvariantCulture), Markup.Escape(d.Item), Markup.Escape(d.Contributor), Markup.Escape(d.Title),
                d.RetrievalScore.ToString("F3", CultureInfo.InvariantCulture), d.Effect.ToString("F3", CultureInfo.InvariantCulture),
                d.Attribution.ToString("P1", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        Console.Error.WriteLine($"{result.Method}, {result.Ablations} ablations; log p(answer) = {result.AnswerLogProb:F3}; "
            + $"retrieve {result.RetrieveMs:F1} ms, generate {result.GenerateMs:F0} ms, attribute {result.AttributeMs:F0} ms"
            + (result.LedgerLeafHash is string leaf ? $"; ledger entry {leaf}" : ""));
    }
}
