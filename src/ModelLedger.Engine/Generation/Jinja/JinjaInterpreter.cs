using System.Text;
using static ModelLedger.Engine.Generation.Jinja.JinjaValues;

namespace ModelLedger.Engine.Generation.Jinja;

/// <summary>
/// Runs parsed statements against a context. Scoping follows Jinja2: <c>set</c> inside a for body stays in that
/// iteration (hence templates use namespace() to carry state out), <c>set</c> inside if/else writes to the enclosing
/// scope. Not thread-safe; one interpreter per render.
/// </summary>
internal sealed class JinjaInterpreter
{
    private enum Flow { Normal, Break, Continue }

    private sealed class Scope(Scope? parent)
    {
        private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);
        public Scope? Parent { get; } = parent;
        public void Set(string name, object? value) => _vars[name] = value;
        public bool TryGet(string name, out object? value)
        {
            for (var s = this; s is not null; s = s.Parent)
                if (s._vars.TryGetValue(name, out value)) return true;
            value = null;
            return false;
        }
    }

    private readonly StringBuilder _output = new();
    private readonly JinjaBuiltins _builtins;
    private Scope _scope;

    private JinjaInterpreter(IReadOnlyDictionary<string, object?> context, JinjaBuiltins builtins)
    {
        _builtins = builtins;
        _scope = new Scope(null);
        foreach (var (name, value) in builtins.Globals) _scope.Set(name, value);
        _scope = new Scope(_scope);
        foreach (var (name, value) in context) _scope.Set(name, value);
    }

    public static string Render(IReadOnlyList<Node> template, IReadOnlyDictionary<string, object?> context,
        JinjaBuiltins builtins)
    {
        var interpreter = new JinjaInterpreter(context, builtins);
        if (interpreter.Run(template) != Flow.Normal) throw Error(0, "break or continue outside a loop");
        return interpreter._output.ToString();
    }

    private Flow Run(IReadOnlyList<Node> body)
    {
        foreach (var node in body)
        {
            var flow = Execute(node);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Execute(Node node)
    {
        switch (node)
        {
            case TextNode text: _output.Append(text.Text); return Flow.Normal;
            case OutputNode output: _output.Append(ToText(Evaluate(output.Value))); return Flow.Normal;
            case IfNode branch:
                foreach (var (condition, body) in branch.Branches)
                    if (IsTrue(Evaluate(condition))) return Run(body);
                return Run(branch.Else);
            case ForNode loop: return ExecuteFor(loop);
            case SetNode set: ExecuteSet(set); return Flow.Normal;
            case LoopControlNode control: return control.IsBreak ? Flow.Break : Flow.Continue;
            default: throw Error(node.Line, $"unknown statement {node.GetType().Name}");
        }
    }

    private Flow ExecuteFor(ForNode loop)
    {
        var items = Iterate(Evaluate(loop.Items), loop.Line);
        if (loop.Filter is not null) items = items.Where(item => WithIteration(loop, item, null,
            () => IsTrue(Evaluate(loop.Filter)))).ToList();
        if (items.Count == 0) return Run(loop.Else);
        for (int i = 0; i < items.Count; i++)
        {
            var flow = WithIteration(loop, items[i], new LoopInfo(items, i), () => Run(loop.Body));
            if (flow == Flow.Break) break;
        }
        return Flow.Normal;
    }

    private T WithIteration<T>(ForNode loop, object? item, LoopInfo? info, Func<T> body)
    {
        var outer = _scope;
        _scope = new Scope(outer);
        try
        {
            if (info is not null) _scope.Set("loop", info);
            if (loop.Targets.Count == 1) _scope.Set(loop.Targets[0], item);
            else
            {
                var parts = item as List<object?> ?? throw Error(loop.Line,
                    $"cannot unpack a {TypeName(item)} into {loop.Targets.Count} names");
                if (parts.Count != loop.Targets.Count) throw Error(loop.Line,
                    $"cannot unpack {parts.Count} values into {loop.Targets.Count} names");
                for (int t = 0; t < parts.Count; t++) _scope.Set(loop.Targets[t], parts[t]);
            }
            return body();
        }
        finally { _scope = outer; }
    }

    private void ExecuteSet(SetNode set)
    {
        var value = Evaluate(set.Value);
        if (set.Attribute is null) { _scope.Set(set.Name, value); return; }
        if (!_scope.TryGet(set.Name, out var target) || target is not Namespace ns)
            throw Error(set.Line, $"'{set.Name}' is not a namespace(); only namespace attributes can be assigned");
        ns.Attributes[set.Attribute] = value;
    }

    private object? Evaluate(Expr expr) => expr switch
    {
        LiteralExpr literal => literal.Value,
        NameExpr name => _scope.TryGet(name.Name, out var value) ? value : Undefined.Instance,
        ListExpr list => list.Items.Select(Evaluate).ToList(),
        DictExpr dict => dict.Items.ToDictionary(p => ToText(Evaluate(p.Key)), p => Evaluate(p.Value),
            StringComparer.Ordinal),
        AttributeExpr attribute => _builtins.GetAttribute(Evaluate(attribute.Target), attribute.Name, attribute.Line),
        ItemExpr item => _builtins.GetItem(Evaluate(item.Target), Evaluate(item.Key), item.Line),
        SliceExpr slice => JinjaBuiltins.Slice(Evaluate(slice.Target), EvaluateOptional(slice.Start),
            EvaluateOptional(slice.Stop),
            EvaluateOptional(slice.Step), slice.Line),
        CallExpr call => Call(call),
        FilterExpr filter => _builtins.Filter(filter.Name, Evaluate(filter.Value), EvaluateArgs(filter.Args),
            filter.Line),
        TestExpr test => _builtins.Test(test.Name, Evaluate(test.Value), EvaluateArgs(test.Args).Positional,
            test.Line) != test.Negated,
        UnaryExpr unary => unary.Operator == "not"
            ? !IsTrue(Evaluate(unary.Operand)) : JinjaOperators.Negate(Evaluate(unary.Operand), unary.Line),
        BinaryExpr binary => EvaluateBinary(binary),
        ConditionalExpr conditional => IsTrue(Evaluate(conditional.Condition)) ? Evaluate(conditional.Then)
            : conditional.Else is null ? Undefined.Instance : Evaluate(conditional.Else),
        _ => throw Error(expr.Line, $"unknown expression {expr.GetType().Name}"),
    };

    private object? EvaluateOptional(Expr? expr) => expr is null ? null : Evaluate(expr);

    private object? EvaluateBinary(BinaryExpr binary)
    {
        var left = Evaluate(binary.Left);
        return binary.Operator switch
        {
            "and" => IsTrue(left) ? Evaluate(binary.Right) : left,
            "or" => IsTrue(left) ? left : Evaluate(binary.Right),
            _ => JinjaOperators.Apply(binary.Operator, left, Evaluate(binary.Right), binary.Line),
        };
    }

    private (List<object?> Positional, Dictionary<string, object?> Named) EvaluateArgs(Arguments args) =>
        (args.Positional.Select(Evaluate).ToList(), args.Named.ToDictionary(p => p.Name, p => Evaluate(p.Value),
            StringComparer.Ordinal));

    private object? Call(CallExpr call)
    {
        var function = Evaluate(call.Function);
        if (function is not JinjaFunction f)
            throw Error(call.Line,
                function is Undefined
                    ? $"{Describe(call.Function)} is undefined" : $"a {TypeName(function)} cannot be called");
        var (positional, named) = EvaluateArgs(call.Args);
        return f(positional, named);
    }

    private static string Describe(Expr expr) => expr switch
    {
        NameExpr n => $"'{n.Name}'",
        AttributeExpr a => $"'{a.Name}'",
        _ => "the function",
    };
}
