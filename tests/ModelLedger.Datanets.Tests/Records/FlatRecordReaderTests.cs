using System.Text.Json.Nodes;

namespace ModelLedger.Datanets.Records;

/// <summary>The tree-free reader of flat JSONL records must build exactly the record the JSON-tree path builds, and
/// hand every line it is not sure of to that path (which decides and words problems).</summary>
public sealed class FlatRecordReaderTests
{
    private static readonly RecordSource Source = new("f.jsonl", 1, 1);

    /// <summary>The tree path, as every line was read before the flat reader.</summary>
    private static ContentRecord? TreePath(DatanetFormat format, string line) =>
        RecordParser.Parse(format, JsonNode.Parse(line), Source, []);

    public static TheoryData<string, string> ValidLines => new()
    {
        { "text", """{"text":"plain words."}""" },
        { "text", """ { "text" : "spaces around, \"quotes\", a \\ backslash, tab\tand\nnewline" } """ },
        { "text", """{"text":"non-ASCII données 数据网 🙂 and escaped \u00e9\u6570 \ud83d\ude42"}""" },
        { "text", """{"text":"HTML <b>&amp;</b> 'single' + line sep \u2028 para sep \u2029 and more"}""" },
        { "text", """{"\u0074ext":"the key spelled with an escape"}""" },
        { "alpaca", """{"instruction":"Name the capital.","input":"France","output":"Paris."}""" },
        { "alpaca", """{"output":"Paris.","instruction":"Name the capital of France."}""" },
        { "alpaca", """{"instruction":"Say hi.","input":"","output":"Hi."}""" },
        { "documents", """{"text":"Body of the doc.\nSecond line.","title":"A title"}""" },
    };

    [Theory]
    [MemberData(nameof(ValidLines))]
    public void ValidFlatLines_BuildTheTreePathsRecord(string formatName, string line)
    {
        var format = DatanetFormats.Parse(formatName);
        var expected = TreePath(format, line);
        var flat = FlatRecordReader.TryRead(format, line, Source);
        Assert.NotNull(expected);
        Assert.NotNull(flat);
        Assert.Equal((expected.Json, expected.Text, expected.Prompt, expected.Response, expected.ContentHash),
            (flat.Json, flat.Text, flat.Prompt, flat.Response, flat.ContentHash));
    }

    public static TheoryData<string, string> LinesForTheTreePath => new()
    {
        { "text", """{"text":"a","extra":"b"}""" },                        // unknown key
        { "text", """{"text":"a","text":"b"}""" },                         // duplicate key
        { "text", """{"text":"a","\u0074ext":"b"}""" },                    // duplicate key, escaped
        { "text", """{"text":null}""" },
        { "text", """{"text":42}""" },
        { "text", """{"text":["a"]}""" },
        { "text", """{"text":"a"} trailing""" },
        { "text", """{"text":"a"} /* comment */""" },
        { "text", """{"text":"a",}""" },
        { "text", """["text"]""" },
        { "text", """{}""" },
        { "text", """{"text":"   "}""" },                                  // whitespace only
        { "text", """{"text":"bell \u0007 inside"}""" },                   // control character
        { "text", """{"text":"lone \ud800 surrogate"}""" },
        { "text", """{"text":""" },                                        // truncated
        { "alpaca", """{"instruction":"x","input":null,"output":"y"}""" }, // null input: the tree path decides
        { "alpaca", """{"instruction":"x"}""" },                           // output missing
        { "sharegpt", """{"conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"hello"}]}""" },
    };

    [Theory]
    [MemberData(nameof(LinesForTheTreePath))]
    public void OtherLines_GoToTheTreePath(string formatName, string line)
    {
        Assert.Null(FlatRecordReader.TryRead(DatanetFormats.Parse(formatName), line, Source));
    }

    [Fact]
    public void OversizedRecord_GoesToTheTreePath()
    {
        // 70,000 ASCII characters: over the 64 KiB limit of a text record.
        var line = $$"""{"text":"{{new string('a', 70_000)}}"}""";
        Assert.Null(FlatRecordReader.TryRead(DatanetFormat.Text, line, Source));
        Assert.Null(TreePath(DatanetFormat.Text, line));
    }

    public static TheoryData<string> TrickyStrings => new()
    {
        "plain", "", "quotes \" and \\ backslash", "tab\tnewline\ncarriage\r", "données 数据网 🙂", "<b>&amp;</b> 'x' +",
        "line sep \u2028 para sep \u2029", "del \u007f nul-free control \u001b",
    };

    [Theory]
    [MemberData(nameof(TrickyStrings))]
    public void Strings_WritesWhatTheJsonObjectSerializerWrites(string value)
    {
        // The reference: the generic serializer over a JsonObject with the same fields, as records were written.
        var reference = CanonicalJson.Text(new JsonObject { ["title"] = value, ["text"] = value + "!" });
        Assert.Equal(reference, CanonicalJson.Strings(["title", "text"], [value, value + "!"]));
    }
}
