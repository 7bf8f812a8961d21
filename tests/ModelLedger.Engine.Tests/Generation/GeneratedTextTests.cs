using ModelLedger.Engine.Models;
using ModelLedger.Testing;

namespace ModelLedger.Engine.Generation;

/// <summary>
/// The streamed text of a generated row decodes only the tokens since its last clean boundary; its text must still
/// equal the whole row decoded at once with the prompt's last token as context (the reference: the tokenizer's
/// Decode of every token so far, computed here), after every token. stories260K has byte-fallback tokens (ids 3-258:
/// &lt;0x00&gt;..&lt;0xFF&gt;), so runs of bytes — valid UTF-8, cut mid-character, stray continuation bytes that
/// turn a whole run into U+FFFD — cross the boundaries, as do special tokens (0-2, dropped by Decode).
/// </summary>
public sealed class GeneratedTextTests : IDisposable
{
    private readonly PretrainedModel _model = PretrainedModel.Load(TestPaths.Stories260K);

    public void Dispose() => _model.Dispose();

    private static readonly int[] Euro = [3 + 0xE2, 3 + 0x82, 3 + 0xAC];   // "€" as byte tokens

    private static int[] RandomIds(int seed, int count)
    {
        var random = new Random(seed);
        var ids = new List<int>();
        while (ids.Count < count)
            ids.AddRange(random.Next(10) switch
            {
                < 4 => [random.Next(259, 512)],                   // ordinary pieces
                < 6 => Euro,                                      // a whole character from bytes
                6 => Euro[..random.Next(1, 3)],                   // cut mid-character
                7 => [3 + random.Next(0x80, 0xC0)],               // a stray continuation byte
                8 => [3 + random.Next(0x20, 0x7F)],               // an ASCII byte
                _ => [random.Next(0, 3)],                         // unk, BOS, EOS: special
            });
        return ids.Take(count).ToArray();
    }

    [Theory]
    [InlineData(1, new[] { 1 })]          // BOS only: no context token
    [InlineData(2, new[] { 1, 300 })]     // an ordinary context token
    [InlineData(3, new[] { 1, 3 + 0xE2 })] // a context token that is a byte
    [InlineData(4, new[] { 1, 400 })]
    public void Text_EqualsTheWholeRowDecoded_AfterEveryToken(int seed, int[] prompt)
    {
        var tokenizer = _model.Tokenizer;
        int[] context = tokenizer.IsSpecial(prompt[^1]) ? [] : [prompt[^1]];
        int cut = tokenizer.Decode(context).Length;
        var row = new GeneratedText(prompt, [], _model);
        var streamed = "";
        var ids = RandomIds(seed, 300);
        for (int i = 0; i < ids.Length; i++)
        {
            streamed += row.Accept(ids[i], []);
            Assert.Equal(tokenizer.Decode([.. context, .. ids[..(i + 1)]])[cut..], row.Result().Text);
        }
        streamed += row.Flush();
        Assert.Equal(tokenizer.Decode([.. context, .. ids])[cut..], row.Result().Text);
        Assert.Equal(300, row.Result().TokenIds.Length);
        Assert.Contains("€", streamed, StringComparison.Ordinal);
    }
}
