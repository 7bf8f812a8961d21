using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelLedger.Attribution.Spans;
using Spectre.Console;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger spans</c>: the longest spans of a text found verbatim in a datanet snapshot, with their items
/// and contributors (a suffix array over the snapshot's tokens, built on first use).</summary>
internal static class SpansCommand
{
    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var snapshot = new Option<string>("--snapshot") { Required = true, Description = "Snapshot folder (data.jsonl + provenance.jsonl)" };
        var text = new Option<string?>("--text") { Description = "Text to attribute; without it the index is only built (or checked)" };
        var model = new Option<string?>("--model") { Description = "Model (or tokenizer) directory whose tokenizer.json tokenises the snapshot (default: the sample tokenizer)" };
        var min = new Option<int>("--min-tokens") { DefaultValueFactory = _ => 6, Description = "Shortest span reported, in tokens" };
        var sources = new Option<int>("--max-sources") { DefaultValueFactory = _ => 10, Description = "Occurrences located per span" };
        var index = new Option<string?>("--index") { Description = "Index file (default: SNAPSHOT/spans/<tokenizer hash>.mlsa)" };
        var rebuild = new Option<bool>("--rebuild") { Description = "Build the index again, replacing the file" };
        var verify = new Option<bool>("--verify") { Description = "Re-derive the index and compare it with the file (exit 3 on a difference)" };
        var workspace = new Option<string?>("--workspace") { Description = "Ledger workspace: append an attribution event" };
        var db = new Option<string?>("--db") { Description = "PostgreSQL connection string of the workspace" };
        var inference = new Option<string?>("--inference") { Description = "Inference id the event refers to (default: a hash of the text)" };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var command = new Command("spans", "Longest verbatim spans of a text in a datanet snapshot, with contributors")
        {
            snapshot, text, model, min, sources, index, rebuild, verify, workspace, db, inference, json,
        };
        command.SetAction((p, _) =>
        {
            var result = SpanJob.Run(new SpanRequest(p.GetValue(snapshot)!, p.GetValue(model) ?? SampleTokenizer, p.GetValue(text),
                p.GetValue(min), p.GetValue(sources), p.GetValue(index), p.GetValue(rebuild), p.GetValue(verify),
                p.GetValue(workspace), p.GetValue(db), p.GetValue(inference)));
            if (p.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(result, Json));
            else Render(result);
            if (result.Verified == false) Console.Error.WriteLine($"verify: {result.VerifyProblem}");
            return Task.FromResult(result.Verified == false ? ExitCodes.VerificationFailed : ExitCodes.Ok);
        });
        return command;
    }

    /// <summary><c>mledger bench spans</c>: build time, bytes per token and query latency on synthetic corpora, every
    /// reported span on a sample checked by brute force.</summary>
    public static Command BenchVerb()
    {
        var sizes = new Option<string>("--sizes") { DefaultValueFactory = _ => "1000000,10000000", Description = "Corpus sizes in tokens" };
        var queries = new Option<int>("--queries") { DefaultValueFactory = _ => 1000, Description = "Timed queries (48 tokens) per size" };
        var check = new Option<int>("--check") { DefaultValueFactory = _ => 50, Description = "Queries whose spans are checked by brute force" };
        var report = new Option<string?>("--report") { Description = "Also write the table as markdown to this file" };
        var json = new Option<bool>("--json") { Description = "Rows as one JSON object on stdout" };
        var command = new Command("spans", "Exact-span index: build time, bytes/token, query latency, brute-force check") { sizes, queries, check, report, json };
        command.SetAction((p, _) =>
        {
            var sizeList = ParseSizes(p.GetValue(sizes)!, "--sizes");
            if (p.GetValue(queries) < 10) throw new UserError("must be ≥ 10", field: "--queries");
            using var work = new TempFolder();
            var rows = Bench.SpanValidation.Run(work.Path, sizeList, p.GetValue(queries), p.GetValue(check), Console.Error.WriteLine);
            var markdown = Markdown(rows);
            Console.WriteLine(p.GetValue(json) ? JsonSerializer.Serialize(new { cores = Environment.ProcessorCount, rows }, Json) : markdown);
            if (p.GetValue(report) is string file) File.WriteAllText(file, markdown);
            return Task.FromResult(rows.All(r => r.SpansConfirmed == r.SpansChecked) ? ExitCodes.Ok : ExitCodes.VerificationFailed);
        });
        return command;
    }

    /// <summary>Corpus sizes in tokens ("1000000,10000000"), each above 100.</summary>
    internal static List<int> ParseSizes(string text, string field) =>
        text.Split(',').Select(x => int.TryParse(x, CultureInfo.InvariantCulture, out int n) && n > 100 ? n
            : throw new UserError($"'{x}' is not a size above 100", field: field)).ToList();

    internal static string Markdown(IEnumerable<Bench.SpanBenchRow> rows) =>
        "| tokens | build s | bytes/token | queries | ms/query mean | ms/query p99 | spans confirmed |\n|---:|---:|---:|---:|---:|---:|---:|\n"
        + string.Concat(rows.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"| {r.Tokens:N0} | {r.BuildSeconds:F2} | {r.BytesPerToken:F2} | {r.Queries} | {r.QueryMsMean:F3} | {r.QueryMsP99:F3} | {r.SpansConfirmed}/{r.SpansChecked} |\n")));

    internal static string SampleTokenizer => Path.Combine(AppContext.BaseDirectory, "samples", "tokenizer");

    private static void Render(SpanResult result)
    {
        var i = result.Index;
        Console.Error.WriteLine(i.Build is SpanIndexBuild b
            ? $"built {i.Path}: {i.Tokens:N0} tokens, {i.FileBytes:N0} bytes ({i.BytesPerToken:F2} bytes/token), "
              + $"tokenise {b.TokenizeSeconds:F2} s, sort {b.SortSeconds:F2} s"
            : $"index {i.Path}: {i.Tokens:N0} tokens ({i.BytesPerToken:F2} bytes/token)");
        if (result.Verified == true) Console.Error.WriteLine("verify: the index equals a fresh build");
        if (result.Report is not SpanReport report) return;
        var table = new Table().AddColumns("tokens", "span", "count", "items (contributor)");
        foreach (var s in report.Spans)
            table.AddRow($"{s.Start}-{s.End}", Markup.Escape(s.Text), s.Count.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(string.Join(", ", s.Sources.Select(x => $"{x.Item} ({x.Contributor})"))));
        AnsiConsole.Write(table);
        foreach (var c in report.Contributors) AnsiConsole.MarkupLine($"{Markup.Escape(c.Contributor)}: {c.Share:P1}");
        Console.Error.WriteLine($"{report.Spans.Count} spans in {report.QueryTokens} query tokens, {result.QueryMs:F2} ms"
            + (result.LedgerLeafHash is string leaf ? $"; ledger entry {leaf}" : ""));
    }
}
