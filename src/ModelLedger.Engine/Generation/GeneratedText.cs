using System.Runtime.InteropServices;
using ModelLedger.Engine.Models;

namespace ModelLedger.Engine.Generation;

/// <summary>One generated row's bookkeeping (for <see cref="TextGenerator"/> and batch schedulers): generated ids,
/// decoded text, stop detection, how much text was streamed. Text is decoded after the prompt's last token and that
/// token's own text is cut off, so a continuation keeps the space a sentencepiece decoder would strip from a
/// sequence's start. Only the tokens since the last clean boundary are decoded again per token (the text before
/// it is settled), so a long reply costs O(1) tokenizer work per token instead of O(length).</summary>
internal sealed class GeneratedText
{
    private readonly int[] _prompt;
    private readonly IReadOnlyList<string> _stopStrings;
    private readonly PretrainedModel _model;
    private readonly List<int> _tokens = [];
    private int[] _anchor;          // the token before the window (at first the prompt's last): decoded, then cut off
    private int _anchorLength;
    private int _windowFrom;        // _tokens[_windowFrom..] are decoded again each step
    private string _settled = "";   // the text of _tokens[.._windowFrom]
    private readonly int _holdBack;
    private string _text = "";
    private int _streamed;
    private FinishReason _reason = FinishReason.Length;

    public bool Finished { get; private set; }

    /// <summary>The ids accepted so far (a stop id included).</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    public GeneratedText(int[] prompt, IReadOnlyList<string> stopStrings, PretrainedModel model)
    {
        (_prompt, _stopStrings, _model) = (prompt, stopStrings, model);
        _holdBack = stopStrings.Count == 0 ? 0 : stopStrings.Max(s => s.Length) - 1;
        _anchor = prompt.Length > 0 && !model.Tokenizer.IsSpecial(prompt[^1]) ? [prompt[^1]] : [];
        _anchorLength = model.Tokenizer.Decode(_anchor).Length;
    }

    private string DecodeGenerated()
    {
        var window = CollectionsMarshal.AsSpan(_tokens)[_windowFrom..];
        var text = _model.Tokenizer.Decode([.. _anchor, .. window])[_anchorLength..];
        var whole = _settled + text;
        Settle(text);
        return whole;
    }

    /// <summary>Moves the window past its tokens when the last one ends the text cleanly: decoding after it with it as
    /// the anchor then gives the same text as decoding everything (no byte run or end strip across it, no
    /// incomplete character, text of its own so a start strip cannot reach the next token).</summary>
    private void Settle(string window)
    {
        if (_tokens.Count == _windowFrom) return;
        int last = _tokens[^1];
        if (window.EndsWith('\uFFFD') || !_model.Tokenizer.IsStreamBoundary(last)) return;
        int length = _model.Tokenizer.Decode([last]).Length;
        if (length == 0) return;
        (_settled, _windowFrom, _anchor, _anchorLength) = (_settled + window, _tokens.Count, [last], length);
    }

    public string Accept(int token, HashSet<int> stopIds)
    {
        _tokens.Add(token);
        if (stopIds.Contains(token)) return Finish(FinishReason.Stop, _text);
        _text = DecodeGenerated();
        foreach (var stop in _stopStrings)
        {
            int at = _text.IndexOf(stop, StringComparison.Ordinal);
            if (stop.Length > 0 && at >= 0) return Finish(FinishReason.Stop, _text[..at]);
        }
        // Hold back an incomplete UTF-8 sequence and anything that could still become a stop string.
        int safe = _text.EndsWith('\uFFFD') ? _text.TrimEnd('\uFFFD').Length : _text.Length - _holdBack;
        return Emit(Math.Max(safe, _streamed));
    }

    private string Finish(FinishReason reason, string text)
    {
        (_text, _reason, Finished) = (text, reason, true);
        return Emit(_text.Length);
    }

    private string Emit(int upTo)
    {
        upTo = Math.Min(upTo, _text.Length);
        if (upTo <= _streamed) return "";
        var delta = _text[_streamed..upTo];
        _streamed = upTo;
        return delta;
    }

    /// <summary>Text still held back when generation ended without a stop.</summary>
    public string Flush()
    {
        if (Finished) return "";
        _text = DecodeGenerated();
        return Emit(_text.Length);
    }

    public GenerationResult Result()
    {
        if (!Finished) _text = DecodeGenerated();
        return new GenerationResult(_prompt, _tokens.ToArray(), _text, _reason);
    }
}
