using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ModelLedger.Ledger.Events;

public sealed class LedgerEntryTests
{
    /// <summary>The leaf encoding as first specified (docs/ledger.md): every string through
    /// JsonSerializer.Serialize, the payload verbatim. Stored leaves were written this way, so the writer-based
    /// encoder must produce the same bytes or verify would call old entries non-canonical.</summary>
    private static byte[] ReferenceLeaf(LedgerEntry e)
    {
        static string Quote(string s) => JsonSerializer.Serialize(s);
        var ts = e.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return Encoding.UTF8.GetBytes($"{{\"v\":1,\"type\":{Quote(e.Type)},\"ts\":{Quote(ts)},\"actor\":{Quote(e.Actor)},"
            + $"\"id\":{(e.ClientId is null ? "null" : Quote(e.ClientId))},\"refs\":[{string.Join(",", e.Refs.Select(Quote))}],"
            + $"\"payload\":{e.Payload}}}");
    }

    public static TheoryData<string> Strings()
    {
        var all = new TheoryData<string> { "", "plain actor", "é ü 漢字 🙂", "tab\tnew\nline", "quote\" back\\slash",
            "<script>&'+`", "\u007f\u0080\u2028\u2029", "datanet:bench:intake:0123" };
        all.Add(new string([.. Enumerable.Range(0x20, 0x5F).Select(c => (char)c)]));   // every printable ASCII character
        return all;
    }

    [Theory]
    [MemberData(nameof(Strings))]
    public void ToLeaf_EqualsTheSerializerEncoding(string text)
    {
        var time = new DateTimeOffset(2026, 12, 2, 1, 2, 3, 456, TimeSpan.Zero).AddTicks(7);
        var entry = new LedgerEntry("epoch.closed", time, text, text.Length == 0 ? null : text, ["ab", text],
            """{"epoch": 1, "note": "ü"}""");
        Assert.Equal(ReferenceLeaf(entry), entry.ToLeaf());
        Assert.Equal(entry.ToLeaf(), LedgerEntry.FromLeaf(entry.ToLeaf()).ToLeaf());
    }
}
