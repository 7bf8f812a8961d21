using System.Globalization;
using System.Text;

namespace ModelLedger.Engine.Generation.Jinja;

/// <summary>A missing variable, attribute or item: renders as "", is false, iterates as empty (Jinja's
/// Undefined).</summary>
internal sealed class Undefined
{
    public static readonly Undefined Instance = new();
    private Undefined() { }
}

/// <summary>namespace(): the one object a template may change from inside a loop.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>The <c>loop</c> variable of a for statement.</summary>
internal sealed class LoopInfo(IReadOnlyList<object?> items, int index)
{
    public object? Get(string name) => name switch
    {
        "index" => (long)index + 1,
        "index0" => (long)index,
        "revindex" => (long)(items.Count - index),
        "revindex0" => (long)(items.Count - index - 1),
        "first" => index == 0,
        "last" => index == items.Count - 1,
        "length" => (long)items.Count,
        "previtem" => index > 0 ? items[index - 1] : Undefined.Instance,
        "nextitem" => index < items.Count - 1 ? items[index + 1] : Undefined.Instance,
        _ => Undefined.Instance,
    };
}

/// <summary>A function a template can call: positional and named arguments in, a value out.</summary>
internal delegate object? JinjaFunction(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);

/// <summary>
/// Python semantics for the values a template sees: string, long, double, bool, null (None), Undefined,
/// List&lt;object?&gt; (lists and tuples), Dictionary&lt;string, object?&gt; (insertion-ordered), Namespace.
/// </summary>
internal static class JinjaValues
{
    public static bool IsTrue(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        Dictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    /// <summary>Python's str(): what {{ value }} writes.</summary>
    public static string ToText(object? value) => value switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(value),
    };

    /// <summary>Python's repr(), used for containers and non-strings.</summary>
    public static string Repr(object? value) => value switch
    {
        null => "None",
        Undefined => "",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatText(d),
        string s => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'",
            StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal) + "'",
        List<object?> list => "[" + string.Join(", ", list.Select(Repr)) + "]",
        Dictionary<string, object?> dict => "{" + string.Join(", ",
            dict.Select(p => Repr(p.Key) + ": " + Repr(p.Value))) + "}",
        _ => value.ToString() ?? "",
    };

    /// <summary>Python's float repr: shortest round-trip digits, ".0" on integral values.</summary>
    public static string FloatText(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E',
            StringComparison.Ordinal) ? text : text + ".0";
    }

    public static bool PyEquals(object? a, object? b)
    {
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
        return (a, b) switch
        {
            (null, null) => true,
            (string x, string y) => x == y,
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => PyEquals(p.First, p.Second)),
            (Dictionary<string, object?> x, Dictionary<string, object?> y) =>
                x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out var v) && PyEquals(p.Value, v)),
            _ => ReferenceEquals(a, b),
        };
    }

    public static int Compare(object? a, object? b, int line)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is string x && b is string y) return string.CompareOrdinal(x, y);
        throw Error(line, $"cannot compare {TypeName(a)} with {TypeName(b)}");
    }

    /// <summary>bool counts as a number, as in Python (True == 1).</summary>
    public static bool IsNumber(object? value) => value is long or double or bool;

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new InvalidOperationException("not a number"),
    };

    public static IReadOnlyList<object?> Iterate(object? value, int line) => value switch
    {
        Undefined => [],
        List<object?> list => list,
        Dictionary<string, object?> dict => dict.Keys.Cast<object?>().ToList(),
        string s => s.EnumerateRunes().Select(r => (object?)r.ToString()).ToList(),
        _ => throw Error(line, $"{TypeName(value)} is not iterable"),
    };

    public static long Length(object? value, int line) => value switch
    {
        Undefined => 0,
        string s => s.EnumerateRunes().Count(),
        List<object?> list => list.Count,
        Dictionary<string, object?> dict => dict.Count,
        Namespace ns => ns.Attributes.Count,
        _ => throw Error(line, $"{TypeName(value)} has no length"),
    };

    public static string TypeName(object? value) => value switch
    {
        null => "none",
        Undefined => "undefined",
        bool => "boolean",
        long => "integer",
        double => "float",
        string => "string",
        List<object?> => "list",
        Dictionary<string, object?> => "dict",
        Namespace => "namespace",
        LoopInfo => "loop",
        _ => "function",
    };

    /// <summary>HF's tojson: json.dumps(value, ensure_ascii=False, indent=indent); separators ", " and ": " without an
    /// indent, "," and ": " with one.</summary>
    public static string ToJson(object? value, int? indent, int line)
    {
        var text = new StringBuilder();
        WriteJson(text, value, indent, 0, line);
        return text.ToString();
    }

    private static void WriteJson(StringBuilder text, object? value, int? indent, int depth, int line)
    {
        switch (value)
        {
            case null: text.Append("null"); break;
            case bool b: text.Append(b ? "true" : "false"); break;
            case long l: text.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: text.Append(double.IsFinite(d) ? FloatText(d) : d > 0 ? "Infinity" : d < 0
                ? "-Infinity" : "NaN"); break;
            case string s: WriteJsonString(text, s); break;
            case List<object?> list:
                WriteJsonContainer(text, '[', ']', list.Count, indent, depth, i => WriteJson(text, list[i], indent,
                    depth + 1, line));
                break;
            case Dictionary<string, object?> dict:
                var pairs = dict.ToList();
                WriteJsonContainer(text, '{', '}', pairs.Count, indent, depth, i =>
                {
                    WriteJsonString(text, pairs[i].Key);
                    text.Append(": ");
                    WriteJson(text, pairs[i].Value, indent, depth + 1, line);
                });
                break;
            default: throw Error(line, $"tojson: a {TypeName(value)} is not JSON serializable");
        }
    }

    private static void WriteJsonContainer(StringBuilder text, char open, char close, int count, int? indent,
        int depth, Action<int> item)
    {
        text.Append(open);
        if (count == 0) { text.Append(close); return; }
        for (int i = 0; i < count; i++)
        {
            if (i > 0) text.Append(indent is null ? ", " : ",");
            if (indent is int n) text.Append('\n').Append(' ', n * (depth + 1));
            item(i);
        }
        if (indent is int m) text.Append('\n').Append(' ', m * depth);
        text.Append(close);
    }

    private static void WriteJsonString(StringBuilder text, string s)
    {
        text.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case < ' ': text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: text.Append(c); break;
            }
        }
        text.Append('"');
    }

    public static UserError Error(int line, string message) => new($"line {line}: {message}", field: "chat_template");
}
