namespace ModelLedger.Datanets.Records;

public sealed class SubmissionValidationTests
{
    /// <summary>Runs a bad submission and checks the one-line error and that neither the ledger nor the tables moved.
    /// </summary>
    private static UserError Refused(DatanetWorkspace w, params string[] files)
    {
        long ledger = w.Ledger.Service.Size;
        var error = Assert.Throws<UserError>(() => w.Service.Add("net", files, "alice"));
        Assert.Equal(ledger, w.Ledger.Service.Size);
        Assert.Equal(0, w.Service.Store.ItemCount("net"));
        Assert.Empty(w.Service.Store.RejectionCounts("net"));
        return error;
    }

    [Fact]
    public void MissingFile_IsNamed()
    {
        using var w = new DatanetWorkspace();
        var good = w.Jsonl("good.jsonl", DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."));
        var error = Refused(w, good, w.Dir.File("absent.jsonl"));
        Assert.Equal((w.Dir.File("absent.jsonl"), "file not found"), (error.File, error.Message));
    }

    [Fact]
    public void NotUtf8_IsNamedWithTheByteOffset()
    {
        using var w = new DatanetWorkspace();
        var path = w.Dir.File("latin1.jsonl");
        // "Café" in Latin-1: 0xE9 at offset 35 is not valid UTF-8.
        File.WriteAllBytes(path, [.. "{\"instruction\": \"x\", \"output\": \"Caf"u8.ToArray(), 0xE9, .. "\"}\n"u8.ToArray()]);
        var error = Refused(w, path);
        Assert.Equal("is not UTF-8 (invalid byte at offset 35)", error.Message);
    }

    [Fact]
    public void WrongFormatForTheDatanet_NamesTheRecord()
    {
        using var w = new DatanetWorkspace();
        var path = w.Jsonl("chat.jsonl", """{"conversations": [{"from": "human", "value": "hi"}]}""");
        var error = Refused(w, path);
        Assert.Equal((1, "record"), (error.Line, error.Field));
        Assert.StartsWith("is not a alpaca record (has conversations", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyField_ControlCharacter_UnknownField_AreAllReported()
    {
        using var w = new DatanetWorkspace();
        var path = w.Jsonl("bad.jsonl",
            DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."),
            DatanetWorkspace.Alpaca("   ", "Paris."),
            DatanetWorkspace.Alpaca("Bell", "ding\u0007"),
            """{"instruction": "a", "output": "b", "history": []}""");
        var error = Refused(w, path);
        Assert.Equal((2, "instruction", "is whitespace only"), (error.Line, error.Field, error.Message));
        Assert.Contains("bad.jsonl:3: output: contains control character U+0007", error.Hint, StringComparison.Ordinal);
        Assert.Contains("bad.jsonl:4: history: unknown field", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidJson_NamesTheLine()
    {
        using var w = new DatanetWorkspace();
        var path = w.Jsonl("broken.jsonl", DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."), "{\"instruction\": ");
        var error = Refused(w, path);
        Assert.Equal(2, error.Line);
        Assert.StartsWith("not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OversizedRecord_IsRefused()
    {
        using var w = new DatanetWorkspace();
        var path = w.Jsonl("big.jsonl", DatanetWorkspace.Alpaca("Summarise.", new string('a', 70_000)));
        Assert.Contains("the limit for alpaca records is 65,536", Refused(w, path).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PlainText_ForAnAlpacaDatanet_IsRefused()
    {
        using var w = new DatanetWorkspace();
        var path = w.Dir.File("notes.md");
        File.WriteAllText(path, "# Notes\n\nSome text.\n");
        Assert.Equal("a plain-text file cannot hold alpaca records", Refused(w, path).Message);
    }

    [Fact]
    public void MarkdownFile_IsOneDocument_TitledByItsName()
    {
        using var w = new DatanetWorkspace(DatanetFormat.Documents);
        var path = w.Dir.File("harbour.md");
        File.WriteAllText(path, "# The harbour\r\n\r\nThe boats come in at dawn and the fishermen sell their catch on "
            + "the quay before the town wakes up.\r\n");
        var id = Assert.Single(w.Service.Add("net", [path], "alice").Items);
        var item = Assert.Single(w.Service.Store.Items("net"));
        Assert.Equal("""{"title":"harbour","text":"# The harbour\n\nThe boats come in at dawn and the fishermen sell """
            + """their catch on the quay before the town wakes up.\n"}""", item.Content);
        Assert.Equal(id, item.Item);
    }
}
