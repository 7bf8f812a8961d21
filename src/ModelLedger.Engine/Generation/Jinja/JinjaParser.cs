namespace ModelLedger.Engine.Generation.Jinja;

/// <summary>
/// Parses lexer tokens into statements and expressions, with Jinja2's operator precedence (lowest first): conditional
/// <c>a if c else b</c>, <c>or</c>, <c>and</c>, <c>not</c>, comparisons and <c>in</c>, <c>+ -</c>, <c>~</c>,
/// <c>* / // %</c>, <c>**</c>, unary minus, then postfix (attribute, item, slice, call) with filters and tests.
/// Statements outside the subset (macro, block, include, raw, …) fail with a UserError naming them.
/// </summary>
internal sealed class JinjaParser
{
    private static readonly HashSet<string> CompareOperators = ["==", "!=", "<", ">", "<=", ">="];
    private readonly List<Token> _tokens;
    private int _pos;

    private JinjaParser(List<Token> tokens) => _tokens = tokens;

    public static IReadOnlyList<Node> Parse(string source)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(source));
        var (body, end) = parser.ParseBody([]);
        if (end is not null) throw parser.Error($"'{end}' without its opening statement");
        return body;
    }

    private Token Current => _tokens[_pos];

    private (List<Node> Body, string? EndTag) ParseBody(string[] endTags)
    {
        var body = new List<Node>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.End:
                    if (endTags.Length > 0) throw Error($"the template ends before {string.Join(" or ", endTags)}");
                    return (body, null);
                case TokenKind.Data:
                    body.Add(new TextNode(token.Line, token.Text));
                    _pos++;
                    break;
                case TokenKind.VariableBegin:
                    _pos++;
                    body.Add(new OutputNode(token.Line, ParseExpression()));
                    Expect(TokenKind.VariableEnd, "}}");
                    break;
                case TokenKind.BlockBegin:
                    var keyword = _tokens[_pos + 1];
                    if (keyword.Kind == TokenKind.Name && endTags.Contains(keyword.Text)) { _pos += 2; return (body,
                        keyword.Text); }
                    _pos += 2;
                    body.Add(ParseStatement(keyword));
                    break;
                default:
                    throw Error($"unexpected '{token.Text}'");
            }
        }
    }

    private Node ParseStatement(Token keyword)
    {
        if (keyword.Kind != TokenKind.Name) throw Error("a statement name must follow {%");
        switch (keyword.Text)
        {
            case "if": return ParseIf(keyword.Line);
            case "for": return ParseFor(keyword.Line);
            case "set": return ParseSet(keyword.Line);
            case "break" or "continue":
                Expect(TokenKind.BlockEnd, "%}");
                return new LoopControlNode(keyword.Line, keyword.Text == "break");
            default:
                throw Error($"the '{keyword.Text}' statement is not supported by this Jinja subset " +
                    "(supported: if/elif/else, for, set, break, continue)");
        }
    }

    private IfNode ParseIf(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        var condition = ParseExpression();
        while (true)
        {
            Expect(TokenKind.BlockEnd, "%}");
            var (body, end) = ParseBody(["elif", "else", "endif"]);
            branches.Add((condition, body));
            if (end == "elif") { condition = ParseExpression(); continue; }
            if (end == "endif") { Expect(TokenKind.BlockEnd, "%}"); return new IfNode(line, branches, []); }
            Expect(TokenKind.BlockEnd, "%}");
            var (elseBody, _) = ParseBody(["endif"]);
            Expect(TokenKind.BlockEnd, "%}");
            return new IfNode(line, branches, elseBody);
        }
    }

    private ForNode ParseFor(int line)
    {
        var targets = new List<string> { ExpectName() };
        while (Accept(",")) targets.Add(ExpectName());
        if (ExpectName() != "in") throw Error("'in' must follow the loop variables");
        var items = ParseExpression(allowConditional: false);
        Expr? filter = AcceptName("if") ? ParseExpression(allowConditional: false) : null;
        if (AcceptName("recursive")) throw Error("recursive loops are not supported by this Jinja subset");
        Expect(TokenKind.BlockEnd, "%}");
        var (body, end) = ParseBody(["else", "endfor"]);
        IReadOnlyList<Node> elseBody = [];
        Expect(TokenKind.BlockEnd, "%}");
        if (end == "else")
        {
            (elseBody, _) = ParseBody(["endfor"]);
            Expect(TokenKind.BlockEnd, "%}");
        }
        return new ForNode(line, targets, items, filter, body, elseBody);
    }

    private SetNode ParseSet(int line)
    {
        var name = ExpectName();
        string? attribute = Accept(".") ? ExpectName() : null;
        if (!Accept("=")) throw Error("block assignments ({% set x %}…{% endset %}) are not supported by this Jinja subset");
        var value = ParseExpression();
        Expect(TokenKind.BlockEnd, "%}");
        return new SetNode(line, name, attribute, value);
    }

    private Expr ParseExpression(bool allowConditional = true)
    {
        var expr = ParseOr();
        while (allowConditional && AcceptName("if"))
        {
            var condition = ParseOr();
            Expr? otherwise = AcceptName("else") ? ParseOr() : null;
            expr = new ConditionalExpr(expr.Line, expr, condition, otherwise);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (AcceptName("or")) left = new BinaryExpr(left.Line, "or", left, ParseAnd());
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (AcceptName("and")) left = new BinaryExpr(left.Line, "and", left, ParseNot());
        return left;
    }

    private Expr ParseNot()
    {
        int line = Current.Line;
        return AcceptName("not") ? new UnaryExpr(line, "not", ParseNot()) : ParseCompare();
    }

    private Expr ParseCompare()
    {
        var left = ParseMath1();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && CompareOperators.Contains(Current.Text))
            {
                var op = Current.Text;
                _pos++;
                left = new BinaryExpr(left.Line, op, left, ParseMath1());
            }
            else if (AcceptName("in")) left = new BinaryExpr(left.Line, "in", left, ParseMath1());
            else if (IsName(Current, "not") && IsName(_tokens[_pos + 1], "in"))
            {
                _pos += 2;
                left = new BinaryExpr(left.Line, "not in", left, ParseMath1());
            }
            else return left;
        }
    }

    private Expr ParseMath1() => ParseLeftAssociative(ParseConcat, "+", "-");
    private Expr ParseConcat() => ParseLeftAssociative(ParseMath2, "~");
    private Expr ParseMath2() => ParseLeftAssociative(ParsePow, "*", "/", "//", "%");
    private Expr ParsePow() => ParseLeftAssociative(ParseUnary, "**");

    private Expr ParseLeftAssociative(Func<Expr> next, params string[] operators)
    {
        var left = next();
        while (Current.Kind == TokenKind.Operator && operators.Contains(Current.Text))
        {
            var op = Current.Text;
            _pos++;
            left = new BinaryExpr(left.Line, op, left, next());
        }
        return left;
    }

    private Expr ParseUnary()
    {
        int line = Current.Line;
        if (Accept("-")) return ParseFiltersAndTests(new UnaryExpr(line, "-", ParseUnary()));
        if (Accept("+")) return ParseFiltersAndTests(ParseUnary());
        return ParseFiltersAndTests(ParsePostfix(ParsePrimary()));
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        _pos++;
        switch (token.Kind)
        {
            case TokenKind.String:
                var text = (string)token.Value!;
                while (Current.Kind == TokenKind.String) text += (string)_tokens[_pos++].Value!;  // 'a' 'b' == 'ab'
                return new LiteralExpr(token.Line, text);
            case TokenKind.Integer or TokenKind.Float:
                return new LiteralExpr(token.Line, token.Value);
            case TokenKind.Name:
                return token.Text switch
                {
                    "true" or "True" => new LiteralExpr(token.Line, true),
                    "false" or "False" => new LiteralExpr(token.Line, false),
                    "none" or "None" => new LiteralExpr(token.Line, null),
                    _ => new NameExpr(token.Line, token.Text),
                };
            case TokenKind.Operator when token.Text == "(":
                var first = ParseExpression();
                if (Accept(")")) return first;
                var tuple = new List<Expr> { first };
                while (Accept(",") && !IsOperator(Current, ")")) tuple.Add(ParseExpression());
                Expect(")");
                return new ListExpr(token.Line, tuple);
            case TokenKind.Operator when token.Text == "[":
                var items = new List<Expr>();
                while (!Accept("]"))
                {
                    items.Add(ParseExpression());
                    if (!Accept(",")) { Expect("]"); break; }
                }
                return new ListExpr(token.Line, items);
            case TokenKind.Operator when token.Text == "{":
                var pairs = new List<(Expr, Expr)>();
                while (!Accept("}"))
                {
                    var key = ParseExpression();
                    Expect(":");
                    pairs.Add((key, ParseExpression()));
                    if (!Accept(",")) { Expect("}"); break; }
                }
                return new DictExpr(token.Line, pairs);
            default:
                _pos--;
                throw Error($"unexpected '{(token.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd ? "end of tag" : token.Text)}'");
        }
    }

    private Expr ParsePostfix(Expr target)
    {
        while (true)
        {
            int line = Current.Line;
            if (Accept(".")) target = new AttributeExpr(line, target,
                Current.Kind == TokenKind.Integer ? _tokens[_pos++].Text : ExpectName());
            else if (Accept("[")) target = ParseSubscript(line, target);
            else if (Accept("(")) target = new CallExpr(line, target, ParseArguments());
            else return target;
        }
    }

    private Expr ParseSubscript(int line, Expr target)
    {
        Expr? start = IsOperator(Current, ":") ? null : ParseExpression();
        if (Accept("]")) return new ItemExpr(line, target, start!);
        Expect(":");
        Expr? stop = IsOperator(Current, ":") || IsOperator(Current, "]") ? null : ParseExpression();
        Expr? step = null;
        if (Accept(":") && !IsOperator(Current, "]")) step = ParseExpression();
        Expect("]");
        return new SliceExpr(line, target, start, stop, step);
    }

    /// <summary>Call arguments after "(": positional, then name=value.</summary>
    private Arguments ParseArguments()
    {
        var positional = new List<Expr>();
        var named = new List<(string, Expr)>();
        while (!Accept(")"))
        {
            if (Current.Kind == TokenKind.Name && IsOperator(_tokens[_pos + 1], "="))
            {
                var name = Current.Text;
                _pos += 2;
                named.Add((name, ParseExpression()));
            }
            else positional.Add(ParseExpression());
            if (!Accept(",")) { Expect(")"); break; }
        }
        return new Arguments(positional, named);
    }

    private Expr ParseFiltersAndTests(Expr value)
    {
        while (true)
        {
            int line = Current.Line;
            if (Accept("|"))
            {
                var name = ExpectName();
                value = new FilterExpr(line, value, name, Accept("(") ? ParseArguments() : Arguments.None);
            }
            else if (AcceptName("is"))
            {
                bool negated = AcceptName("not");
                var name = ExpectName();
                var args = Accept("(") ? ParseArguments() : StartsTestArgument()
                    ? new Arguments([ParsePostfix(ParsePrimary())], []) : Arguments.None;
                value = new TestExpr(line, value, name, args, negated);
            }
            else return value;
        }
    }

    /// <summary>Jinja allows one argument without parentheses: <c>x is sameas false</c>, <c>x is divisibleby
    /// 3</c>.</summary>
    private bool StartsTestArgument() => Current.Kind switch
    {
        TokenKind.String or TokenKind.Integer or TokenKind.Float => true,
        TokenKind.Name => Current.Text is not ("and" or "or" or "else" or "if" or "in" or "not" or "is"),
        _ => false,
    };

    private bool Accept(string op)
    {
        if (!IsOperator(Current, op)) return false;
        _pos++;
        return true;
    }

    private bool AcceptName(string name)
    {
        if (!IsName(Current, name)) return false;
        _pos++;
        return true;
    }

    private static bool IsOperator(Token token, string op) => token.Kind == TokenKind.Operator && token.Text == op;
    private static bool IsName(Token token, string name) => token.Kind == TokenKind.Name && token.Text == name;

    private string ExpectName()
    {
        if (Current.Kind != TokenKind.Name) throw Error($"a name was expected, found '{Current.Text}'");
        return _tokens[_pos++].Text;
    }

    private void Expect(string op)
    {
        if (!Accept(op)) throw Error($"'{op}' was expected, found '{Current.Text}'");
    }

    private void Expect(TokenKind kind, string text)
    {
        if (Current.Kind != kind) throw Error($"'{text}' was expected, found '{Current.Text}'");
        _pos++;
    }

    private UserError Error(string message) => new($"line {Current.Line}: {message}", field: "chat_template");
}
