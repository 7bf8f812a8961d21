using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Datanets.Records;

/// <summary>
/// Reads the files of one submission into validated records. Everything is checked before anything is written: a
/// missing file, bytes that are not UTF-8, invalid JSON, a file type the format cannot hold, a record of the wrong
/// shape, an empty field or an oversized record or submission makes the whole submission unusable, reported as one
/// <see cref="UserError"/> naming the first problem's file, record and field and counting the rest.
/// </summary>
internal static class SubmissionReader
{
    public const long MaxSubmissionBytes = 512L << 20;
    public const int MaxSubmissionRecords = 1_000_000;
    private static readonly JsonDocumentOptions NoDuplicateKeys = new() { AllowDuplicateProperties = false };
    private static readonly List<RecordProblem> NoProblems = [];
    private static readonly UTF8Encoding StrictUtf8 =
        new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static IReadOnlyList<ContentRecord> Read(DatanetFormat format, IReadOnlyList<string> files)
    {
        if (files.Count == 0) throw new UserError("no files given", field: "FILE");
        long total = 0;
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new UserError("file not found", file: file);
            total += new FileInfo(file).Length;
        }
        if (total > MaxSubmissionBytes)
            throw new UserError($"the submission is {total:N0} bytes; the limit is {MaxSubmissionBytes:N0}",
                hint: "split it into several 'datanet add' calls");
        var records = new List<ContentRecord>();
        var problems = new List<RecordProblem>();
        foreach (var file in files) ReadFile(format, file, records, problems);
        if (problems.Count > 0)
        {
            var first = problems[0];
            var more = problems.Skip(1).Take(5).Select(p => p.ToString()).ToList();
            throw new UserError(first.Message, file: first.Source.File, line: first.Source.Line,
                field: first.Source.Line is null ? $"record {first.Source.Record}: {first.Field}" : first.Field,
                hint: problems.Count == 1 ? "nothing was written" :
                    $"{problems.Count - 1} more problem(s), nothing was written: {string.Join("; ", more)}"
                    + (problems.Count > 6 ? "; …" : ""));
        }
        if (records.Count > MaxSubmissionRecords)
            throw new UserError($"the submission has {records.Count:N0} records; the limit is {MaxSubmissionRecords:N0}");
        return records;
    }

    private static void ReadFile(DatanetFormat format, string file, List<ContentRecord> records,
        List<RecordProblem> problems)
    {
        string text;
        try { text = StrictUtf8.GetString(File.ReadAllBytes(file)); }
        catch (DecoderFallbackException e)
        {
            throw new UserError($"is not UTF-8 (invalid byte at offset {e.Index})", file: file,
                hint: "convert it, e.g. iconv -t UTF-8; nothing was written");
        }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var extension = Path.GetExtension(file).ToLowerInvariant();
        switch (extension)
        {
            case ".jsonl":
                ReadJsonLines(format, file, text, records, problems);
                break;
            case ".json":
                ReadJsonArray(format, file, text, records, problems);
                break;
            case ".txt" or ".md" or ".markdown":
                ReadPlainText(format, file, text, records, problems);
                break;
            default:
                throw new UserError($"unsupported file type '{extension}'", file: file,
                    hint: "use .json (an array of records), .jsonl (one record per line), .txt or .md");
        }
    }

    private static void ReadJsonLines(DatanetFormat format, string file, string text, List<ContentRecord> records,
        List<RecordProblem> problems)
    {
        var lines = text.Split('\n');
        var numbered = new List<(int Line, int Record)>();
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].Trim().Length > 0) numbered.Add((i + 1, numbered.Count + 1));
        // Parsing and canonicalising is most of the reading: lines in parallel, results kept in file order. Valid
        // flat records take the reader without a JSON tree; every other line the tree, which words its problems.
        var parsed = new (ContentRecord? Record, List<RecordProblem> Problems)[numbered.Count];
        Parallel.For(0, numbered.Count, k =>
        {
            var (line, record) = numbered[k];
            var source = new RecordSource(file, record, line);
            var text = lines[line - 1].TrimEnd('\r');
            if (FlatRecordReader.TryRead(format, text, source) is ContentRecord flat)
            {
                parsed[k] = (flat, NoProblems);
                return;
            }
            var problems = new List<RecordProblem>();
            JsonNode? node;
            try { node = JsonNode.Parse(text, documentOptions: NoDuplicateKeys); }
            catch (JsonException e)
            {
                problems.Add(new RecordProblem(source, "record", $"not valid JSON: {e.Message}"));
                parsed[k] = (null, problems);
                return;
            }
            parsed[k] = (RecordParser.Parse(format, node, source, problems), problems);
        });
        foreach (var (record, recordProblems) in parsed)
        {
            problems.AddRange(recordProblems);
            if (record is not null) records.Add(record);
        }
        int recordCount = numbered.Count;
        if (recordCount == 0) throw new UserError("holds no records", file: file);
    }

    private static void ReadJsonArray(DatanetFormat format, string file, string text, List<ContentRecord> records,
        List<RecordProblem> problems)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(text, documentOptions: NoDuplicateKeys); }
        catch (JsonException e)
        {
            throw new UserError($"not valid JSON: {e.Message}", file: file,
                line: e.LineNumber is long n ? (int)n + 1 : null, hint: "nothing was written");
        }
        var items = root switch
        {
            JsonArray a => a.ToList(),
            JsonObject o => [o],
            _ => throw new UserError("must be a JSON array of records (or one record object)", file: file),
        };
        if (items.Count == 0) throw new UserError("holds no records", file: file);
        for (int i = 0; i < items.Count; i++)
            if (RecordParser.Parse(format, items[i], new RecordSource(file, i + 1, null), problems) is ContentRecord r)
                records.Add(r);
    }

    /// <summary>Documents: the whole file is one document titled by its file name. Text: blocks separated by blank
    /// lines are records (a paragraph each).</summary>
    private static void ReadPlainText(DatanetFormat format, string file, string text, List<ContentRecord> records,
        List<RecordProblem> problems)
    {
        if (format is DatanetFormat.Alpaca or DatanetFormat.ShareGpt)
            throw new UserError($"a plain-text file cannot hold {format.Name()} records", file: file,
                hint: "give .json or .jsonl records; plain text and markdown suit text and documents datanets");
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (format == DatanetFormat.Documents)
        {
            var node = new JsonObject { ["title"] = Path.GetFileNameWithoutExtension(file), ["text"] = text };
            if (RecordParser.Parse(format, node, new RecordSource(file, 1, 1), problems) is ContentRecord r) records.Add(r);
            return;
        }
        var lines = text.Split('\n');
        var block = new List<string>();
        int start = 0, record = 0;
        for (int i = 0; i <= lines.Length; i++)
        {
            if (i < lines.Length && lines[i].Trim().Length > 0)
            {
                if (block.Count == 0) start = i + 1;
                block.Add(lines[i]);
                continue;
            }
            if (block.Count == 0) continue;
            var node = new JsonObject { ["text"] = string.Join('\n', block) };
            if (RecordParser.Parse(format, node, new RecordSource(file, ++record, start), problems) is ContentRecord r)
                records.Add(r);
            block.Clear();
        }
        if (record == 0) throw new UserError("is empty or whitespace only", file: file);
    }
}
