using System.Globalization;
using System.Text;

namespace ModelLedger.Engine.Generation.Jinja;

internal enum TokenKind { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float,
    Operator, End }

internal readonly record struct Token(TokenKind Kind, string Text, int Line, object? Value = null);

/// <summary>
/// Splits a Jinja2 template into data and tag tokens with the whitespace rules HF's <c>apply_chat_template</c> uses:
/// <c>trim_blocks</c> (the first newline after a block or comment tag is dropped), <c>lstrip_blocks</c> (spaces and
/// tabs before a block or comment tag at the start of a line are dropped, unless the tag opens with <c>+</c>), and the
/// <c>-</c> markers that strip all whitespace on their side of any tag.
/// </summary>
internal sealed class JinjaLexer
{
    private static readonly string[] Operators =
        ["**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")",
            "[", "]", "{", "}", "="];

    private readonly string _source;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _line = 1;

    private JinjaLexer(string source) => _source = source;

    public static List<Token> Tokenize(string source)
    {
        var lexer = new JinjaLexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        bool stripNext = false, trimNewline = false;
        while (_pos < _source.Length)
        {
            int open = NextTagStart(_pos);
            var data = _source[_pos..(open < 0 ? _source.Length : open)];
            if (stripNext) data = data.TrimStart();
            else if (trimNewline) data = data.StartsWith("\r\n",
                StringComparison.Ordinal) ? data[2..] : data.StartsWith('\n') ? data[1..] : data;
            if (open < 0) { AddData(data); break; }

            char kind = _source[open + 1];
            char marker = open + 2 < _source.Length ? _source[open + 2] : '\0';
            if (marker == '-') data = data.TrimEnd();
            else if (kind != '{' && marker != '+') data = StripLineIndent(data, open);
            AddData(data);
            _line += _source.AsSpan(_pos, open - _pos).Count('\n');
            _pos = open + 2 + (marker is '-' or '+' ? 1 : 0);
            (stripNext, trimNewline) = kind switch
            {
                '#' => SkipComment(),
                '{' => ReadTag(TokenKind.VariableBegin, TokenKind.VariableEnd, "}}", blockLike: false),
                _ => ReadTag(TokenKind.BlockBegin, TokenKind.BlockEnd, "%}", blockLike: true),
            };
        }
        _tokens.Add(new Token(TokenKind.End, "", _line));
    }

    private int NextTagStart(int from)
    {
        for (int i = _source.IndexOf('{', from); i >= 0 && i + 1 < _source.Length; i = _source.IndexOf('{', i + 1))
            if (_source[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    /// <summary>lstrip_blocks: drops the spaces and tabs between the last line start and a block tag.</summary>
    private string StripLineIndent(string data, int tagStart)
    {
        if (tagStart == 0) return data;
        int lineStart = _source.LastIndexOf('\n', tagStart - 1) + 1;
        var indent = _source.AsSpan(lineStart, tagStart - lineStart);
        if (indent.Length == 0 || indent.ContainsAnyExcept(' ', '\t')) return data;
        return data.Length >= indent.Length ? data[..^indent.Length] : data;
    }

    private void AddData(string data)
    {
        if (data.Length > 0) _tokens.Add(new Token(TokenKind.Data, data, _line));
    }

    private (bool StripNext, bool TrimNewline) SkipComment()
    {
        int close = _source.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (close < 0) throw Error("a comment {# is never closed");
        bool strip = close > _pos && _source[close - 1] == '-';
        _line += _source.AsSpan(_pos, close - _pos).Count('\n');
        _pos = close + 2;
        return (strip, !strip);
    }

    private (bool StripNext, bool TrimNewline) ReadTag(TokenKind begin, TokenKind end, string closer, bool blockLike)
    {
        _tokens.Add(new Token(begin, "", _line));
        while (true)
        {
            SkipSpaces();
            if (_pos >= _source.Length) throw Error($"a tag is never closed with {closer}");
            char c = _source[_pos];
            if (c is '-' or '+' && At(_pos + 1, closer)) { _pos += 1 + closer.Length; break; }
            if (At(_pos, closer)) { _pos += closer.Length; _tokens.Add(new Token(end, "", _line)); return (false,
                blockLike); }
            if (char.IsLetter(c) || c == '_') ReadName();
            else if (char.IsAsciiDigit(c)) ReadNumber();
            else if (c is '\'' or '"') ReadString(c);
            else ReadOperator();
        }
        char marker = _source[_pos - 1 - closer.Length];
        _tokens.Add(new Token(end, "", _line));
        return (marker == '-', blockLike && marker != '+' && marker != '-');
    }

    private void SkipSpaces()
    {
        while (_pos < _source.Length && char.IsWhiteSpace(_source[_pos]))
        {
            if (_source[_pos] == '\n') _line++;
            _pos++;
        }
    }

    private bool At(int index, string text) => string.CompareOrdinal(_source, index, text, 0, text.Length) == 0;

    private void ReadName()
    {
        int start = _pos;
        while (_pos < _source.Length && (char.IsLetterOrDigit(_source[_pos]) || _source[_pos] == '_')) _pos++;
        _tokens.Add(new Token(TokenKind.Name, _source[start.._pos], _line));
    }

    private void ReadNumber()
    {
        int start = _pos;
        while (_pos < _source.Length && (char.IsAsciiDigit(_source[_pos]) || _source[_pos] == '_')) _pos++;
        bool isFloat = _pos + 1 < _source.Length && _source[_pos] == '.' && char.IsAsciiDigit(_source[_pos + 1]);
        if (isFloat)
        {
            _pos++;
            while (_pos < _source.Length && char.IsAsciiDigit(_source[_pos])) _pos++;
        }
        var text = _source[start.._pos].Replace("_", "", StringComparison.Ordinal);
        _tokens.Add(isFloat
            ? new Token(TokenKind.Float, text, _line, double.Parse(text, CultureInfo.InvariantCulture))
            : new Token(TokenKind.Integer, text, _line, long.Parse(text, CultureInfo.InvariantCulture)));
    }

    /// <summary>A Python string literal: backslash escapes \n \t \r \\ \' \" \uXXXX; other escapes keep the
    /// backslash.</summary>
    private void ReadString(char quote)
    {
        int startLine = _line;
        var text = new StringBuilder();
        _pos++;
        while (true)
        {
            if (_pos >= _source.Length) throw Error("a string literal is never closed");
            char c = _source[_pos++];
            if (c == quote) break;
            if (c == '\n') _line++;
            if (c != '\\' || _pos >= _source.Length) { text.Append(c); continue; }
            char e = _source[_pos++];
            switch (e)
            {
                case 'n': text.Append('\n'); break;
                case 't': text.Append('\t'); break;
                case 'r': text.Append('\r'); break;
                case '\\' or '\'' or '"': text.Append(e); break;
                case 'u' when _pos + 4 <= _source.Length:
                    text.Append((char)int.Parse(_source.AsSpan(_pos, 4), NumberStyles.HexNumber,
                        CultureInfo.InvariantCulture));
                    _pos += 4;
                    break;
                default: text.Append('\\').Append(e); break;
            }
        }
        _tokens.Add(new Token(TokenKind.String, text.ToString(), startLine, text.ToString()));
    }

    private void ReadOperator()
    {
        foreach (var op in Operators)
            if (At(_pos, op))
            {
                _tokens.Add(new Token(TokenKind.Operator, op, _line));
                _pos += op.Length;
                return;
            }
        throw Error($"unexpected character '{_source[_pos]}'");
    }

    private UserError Error(string message) => new($"line {_line}: {message}", field: "chat_template");
}
