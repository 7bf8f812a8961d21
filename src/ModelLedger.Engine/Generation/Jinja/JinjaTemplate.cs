namespace ModelLedger.Engine.Generation.Jinja;

/// <summary>
/// A parsed Jinja2 template in the subset HF chat templates use, rendered the way transformers' apply_chat_template
/// renders (trim_blocks, lstrip_blocks, loop controls, raise_exception, strftime_now). Parsing fails at once with a
/// UserError naming the line and the construct outside the subset. Immutable and thread-safe after parsing.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Node> _body;

    private JinjaTemplate(IReadOnlyList<Node> body) => _body = body;

    public static JinjaTemplate Parse(string source) => new(JinjaParser.Parse(source));

    /// <summary>Renders with context values built from .NET objects: string, bool, int/long, double, null,
    /// IEnumerable of values (lists), IReadOnlyDictionary&lt;string, object?&gt; (mappings).
    /// <paramref name="clock"/> answers strftime_now (local time, as HF's datetime.now()).</summary>
    public string Render(IReadOnlyDictionary<string, object?> context, TimeProvider? clock = null)
    {
        var values = context.ToDictionary(p => p.Key, p => FromClr(p.Value), StringComparer.Ordinal);
        return JinjaInterpreter.Render(_body, values, new JinjaBuiltins(clock ?? TimeProvider.System));
    }

    private static object? FromClr(object? value) => value switch
    {
        null or string or bool or long or double => value,
        int i => (long)i,
        float f => (double)f,
        IReadOnlyDictionary<string, object?> map => map.ToDictionary(p => p.Key, p => FromClr(p.Value),
            StringComparer.Ordinal),
        System.Collections.IEnumerable list => list.Cast<object?>().Select(FromClr).ToList(),
        _ => throw new ArgumentException($"a {value.GetType().Name} cannot be passed to a template", nameof(value)),
    };
}
