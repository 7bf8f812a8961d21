using System.Globalization;
using static ModelLedger.Engine.Generation.Jinja.JinjaValues;

namespace ModelLedger.Engine.Generation.Jinja;

/// <summary>
/// The globals, filters, tests and methods HF chat templates use. Globals are those transformers' apply_chat_template
/// adds (raise_exception, strftime_now) plus Jinja's own (namespace, range, dict). Anything else fails with a
/// UserError that names it, never silently renders wrong text.
/// </summary>
internal sealed class JinjaBuiltins
{
    private readonly TimeProvider _clock;

    public JinjaBuiltins(TimeProvider clock)
    {
        _clock = clock;
        Globals = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["namespace"] = (JinjaFunction)((args, kwargs) => MakeNamespace(args, kwargs)),
            ["raise_exception"] = (JinjaFunction)((args, _) =>
                throw new UserError($"the chat template rejected the conversation: {ToText(args.FirstOrDefault())}",
                    field: "messages")),
            ["strftime_now"] = (JinjaFunction)((args, _) => Strftime(_clock.GetLocalNow(),
                args.FirstOrDefault() as string ?? "")),
            ["range"] = (JinjaFunction)((args, _) => Range(args)),
            ["dict"] = (JinjaFunction)((_, kwargs) => kwargs.ToDictionary(p => p.Key, p => p.Value,
                StringComparer.Ordinal)),
        };
    }

    public IReadOnlyDictionary<string, object?> Globals { get; }

    /// <summary>a.b: a dict's methods (items, keys, values, get) first, then its key, as Jinja's getattr
    /// does.</summary>
    public object? GetAttribute(object? target, string name, int line) => target switch
    {
        Dictionary<string, object?> dict when Method(dict, name) is JinjaFunction method => method,
        Dictionary<string, object?> dict => dict.TryGetValue(name, out var value) ? value : Undefined.Instance,
        string s when StringMethod(s, name, line) is JinjaFunction method => method,
        Namespace ns => ns.Attributes.TryGetValue(name, out var value) ? value : Undefined.Instance,
        LoopInfo loop => loop.Get(name),
        Undefined => throw Error(line, $"'{name}' of an undefined value"),
        _ => Undefined.Instance,
    };

    /// <summary>a[k]: items of dicts, lists (negative indexes count from the end) and strings.</summary>
    public object? GetItem(object? target, object? key, int line)
    {
        switch (target)
        {
            case Dictionary<string, object?> dict when key is string k:
                return dict.TryGetValue(k, out var value) ? value : Undefined.Instance;
            case List<object?> list when key is long i:
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : Undefined.Instance;
            case string s when key is long i:
                var runes = s.EnumerateRunes().ToList();
                if (i < 0) i += runes.Count;
                return i >= 0 && i < runes.Count ? runes[(int)i].ToString() : Undefined.Instance;
            case Undefined:
                throw Error(line, $"[{Repr(key)}] of an undefined value");
            default:
                return key is string name ? GetAttribute(target, name, line) : Undefined.Instance;
        }
    }

    /// <summary>Python slicing of lists and strings.</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step, int line)
    {
        long s = step is null ? 1 : step as long? ?? throw Error(line, "slice step must be an integer");
        if (s == 0) throw Error(line, "slice step cannot be zero");
        List<object?> items = target switch
        {
            List<object?> list => list,
            string text => text.EnumerateRunes().Select(r => (object?)r.ToString()).ToList(),
            _ => throw Error(line, $"cannot slice a {TypeName(target)}"),
        };
        int n = items.Count;
        long Bound(object? value, long fallback)
        {
            if (value is null) return fallback;
            long v = value as long? ?? throw Error(line, "slice bounds must be integers");
            if (v < 0) v += n;
            return s > 0 ? Math.Clamp(v, 0, n) : Math.Clamp(v, -1, n - 1);
        }
        long from = Bound(start, s > 0 ? 0 : n - 1), to = Bound(stop, s > 0 ? n : -1);
        var result = new List<object?>();
        for (long i = from; s > 0 ? i < to : i > to; i += s) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Cast<string>()) : result;
    }

    public object? Filter(string name, object? value, (List<object?> Positional, Dictionary<string,
        object?> Named) args, int line)
    {
        var (p, named) = args;
        object? Arg(int i, string key, object? fallback) => i < p.Count ? p[i] : named.TryGetValue(key,
            out var v) ? v : fallback;
        return name switch
        {
            "trim" => ToText(value).Trim(),
            "upper" => ToText(value).ToUpperInvariant(),
            "lower" => ToText(value).ToLowerInvariant(),
            "capitalize" => Capitalize(ToText(value)),
            "title" => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(ToText(value).ToLowerInvariant()),
            "string" => ToText(value),
            "length" or "count" => Length(value, line),
            "tojson" => ToJson(value, Arg(0, "indent", null) as long? is long n ? (int)n : null, line),
            "default" or "d" => value is Undefined || (IsTrue(Arg(1, "boolean", false)) && !IsTrue(value)) ? Arg(0,
                "default_value", "") : value,
            "items" => value is Dictionary<string, object?> dict ? Pairs(dict)
                : value is Undefined ? new List<object?>() : throw Error(line, $"items of a {TypeName(value)}"),
            "list" => Iterate(value, line).ToList(),
            "first" => Iterate(value, line).FirstOrDefault(Undefined.Instance),
            "last" => Iterate(value, line).LastOrDefault(Undefined.Instance),
            "reverse" => value is string s ? new string(s.Reverse().ToArray()) : Iterate(value,
                line).Reverse().ToList(),
            "join" => string.Join(ToText(Arg(0, "d", "")), Iterate(value, line).Select(x => ToText(Arg(1, "attribute",
                null) is string a ? GetAttribute(x, a, line) : x))),
            "replace" => ToText(value).Replace(ToText(Arg(0, "old", "")), ToText(Arg(1, "new", "")),
                StringComparison.Ordinal),
            "int" => ToInteger(value),
            "float" => IsNumber(value) ? ToDouble(value) : double.TryParse(ToText(value), NumberStyles.Float,
                CultureInfo.InvariantCulture, out var d) ? d : 0.0,
            "abs" => value is long l ? (object)Math.Abs(l) : Math.Abs(ToDouble(value)),
            "unique" => Iterate(value, line).Aggregate(new List<object?>(), (acc,
                x) => { if (!acc.Any(y => PyEquals(x, y))) acc.Add(x); return acc; }),
            "map" => Iterate(value, line).Select(x => named.TryGetValue("attribute", out var a) ? GetAttribute(x,
                ToText(a), line)
                : Filter(ToText(p.FirstOrDefault()), x, (p.Skip(1).ToList(), []), line)).ToList(),
            "selectattr" or "rejectattr" => Iterate(value, line).Where(x =>
                SelectAttribute(x, p, line) == (name == "selectattr")).ToList(),
            "select" or "reject" => Iterate(value, line).Where(x =>
                (p.Count == 0 ? IsTrue(x) : Test(ToText(p[0]), x, p.Skip(1).ToList(),
                    line)) == (name == "select")).ToList(),
            _ => throw Error(line, $"the '{name}' filter is not supported by this Jinja subset"),
        };
    }

    public bool Test(string name, object? value, IReadOnlyList<object?> args, int line) => name switch
    {
        "defined" => value is not Undefined,
        "undefined" => value is Undefined,
        "none" => value is null,
        "string" => value is string,
        "number" => value is long or double,
        "integer" => value is long,
        "float" => value is double,
        "boolean" => value is bool,
        "true" => value is true,
        "false" => value is false,
        "mapping" => value is Dictionary<string, object?> or Namespace,
        "iterable" => value is string or List<object?> or Dictionary<string, object?>,
        "sequence" => value is string or List<object?> or Dictionary<string, object?>,
        "callable" => value is JinjaFunction,
        "equalto" or "eq" or "==" or "sameas" => PyEquals(value, args.FirstOrDefault()),
        "ne" or "!=" => !PyEquals(value, args.FirstOrDefault()),
        "in" => JinjaOperators.Contains(args.FirstOrDefault(), value, line),
        "odd" => ToInteger(value) % 2 != 0,
        "even" => ToInteger(value) % 2 == 0,
        "divisibleby" => ToInteger(value) % ToInteger(args.FirstOrDefault()) == 0,
        "lower" => value is string s && s == s.ToLowerInvariant(),
        "upper" => value is string u && u == u.ToUpperInvariant(),
        _ => throw Error(line, $"the '{name}' test is not supported by this Jinja subset"),
    };

    private bool SelectAttribute(object? item, List<object?> args, int line)
    {
        if (args.Count == 0) throw Error(line, "selectattr needs an attribute name");
        var attribute = GetAttribute(item, ToText(args[0]), line);
        return args.Count == 1 ? IsTrue(attribute) : Test(ToText(args[1]), attribute, args.Skip(2).ToList(), line);
    }

    private static JinjaFunction? Method(Dictionary<string, object?> dict, string name) => name switch
    {
        "items" => (_, _) => Pairs(dict),
        "keys" => (_, _) => dict.Keys.Cast<object?>().ToList(),
        "values" => (_, _) => dict.Values.ToList(),
        "get" => (args, _) => dict.TryGetValue(ToText(args.FirstOrDefault()),
            out var v) ? v : args.Count > 1 ? args[1] : null,
        _ => null,
    };

    private static JinjaFunction? StringMethod(string s, string name, int line)
    {
        string? Chars(IReadOnlyList<object?> args) => args.Count > 0 && args[0] is string c ? c : null;
        return name switch
        {
            "strip" => (args, _) => Chars(args) is string c ? s.Trim(c.ToCharArray()) : s.Trim(),
            "lstrip" => (args, _) => Chars(args) is string c ? s.TrimStart(c.ToCharArray()) : s.TrimStart(),
            "rstrip" => (args, _) => Chars(args) is string c ? s.TrimEnd(c.ToCharArray()) : s.TrimEnd(),
            "upper" => (_, _) => s.ToUpperInvariant(),
            "lower" => (_, _) => s.ToLowerInvariant(),
            "title" => (_, _) => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(s.ToLowerInvariant()),
            "capitalize" => (_, _) => Capitalize(s),
            "startswith" => (args, _) => s.StartsWith(ToText(args.FirstOrDefault()), StringComparison.Ordinal),
            "endswith" => (args, _) => s.EndsWith(ToText(args.FirstOrDefault()), StringComparison.Ordinal),
            "replace" => (args, _) => s.Replace(ToText(args[0]), ToText(args[1]), StringComparison.Ordinal),
            "find" => (args, _) => (long)s.IndexOf(ToText(args.FirstOrDefault()), StringComparison.Ordinal),
            "join" => (args, _) => string.Join(s, Iterate(args.FirstOrDefault(), line).Select(ToText)),
            "split" => (args, _) => Split(s, args.Count > 0 ? args[0] as string : null,
                args.Count > 1 ? args[1] as long? ?? -1 : -1),
            _ => null,
        };
    }

    /// <summary>Python's str.split: on a separator (optionally at most maxsplit times), or on runs of
    /// whitespace.</summary>
    private static List<object?> Split(string s, string? separator, long maxSplit)
    {
        int count = maxSplit < 0 ? int.MaxValue : (int)maxSplit + 1;
        var parts = separator is null
            ? s.Split((char[]?)null, count, StringSplitOptions.RemoveEmptyEntries)
            : s.Split(separator, count, StringSplitOptions.None);
        if (separator is null && parts.Length > 0 && maxSplit >= 0) parts[^1] = parts[^1].TrimStart();
        return parts.Cast<object?>().ToList();
    }

    private static List<object?> Pairs(Dictionary<string, object?> dict) =>
        dict.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList();

    private static string Capitalize(string s) => s.Length == 0
        ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static long ToInteger(object? value) => value switch
    {
        long l => l,
        double d => (long)d,
        bool b => b ? 1 : 0,
        string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
        _ => 0,
    };

    private static Namespace MakeNamespace(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        var ns = new Namespace();
        foreach (var dict in args.OfType<Dictionary<string, object?>>())
            foreach (var (k, v) in dict) ns.Attributes[k] = v;
        foreach (var (k, v) in kwargs) ns.Attributes[k] = v;
        return ns;
    }

    private static List<object?> Range(IReadOnlyList<object?> args)
    {
        var n = args.Select(ToInteger).ToArray();
        var (start, stop, step) = n.Length switch { 1 => (0L, n[0], 1L), 2 => (n[0], n[1], 1L), _ => (n[0], n[1],
            n[2]) };
        var result = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) result.Add(i);
        return result;
    }

    /// <summary>Python's strftime for the directives chat templates use (%d %b %B %Y %y %m %H %M %S %a %A %p
    /// %%).</summary>
    public static string Strftime(DateTimeOffset time, string format)
    {
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length) { text.Append(format[i]); continue; }
            char directive = format[++i];
            text.Append(directive switch
            {
                'd' => time.ToString("dd", CultureInfo.InvariantCulture),
                'b' => time.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => time.ToString("MMMM", CultureInfo.InvariantCulture),
                'Y' => time.ToString("yyyy", CultureInfo.InvariantCulture),
                'y' => time.ToString("yy", CultureInfo.InvariantCulture),
                'm' => time.ToString("MM", CultureInfo.InvariantCulture),
                'H' => time.ToString("HH", CultureInfo.InvariantCulture),
                'M' => time.ToString("mm", CultureInfo.InvariantCulture),
                'S' => time.ToString("ss", CultureInfo.InvariantCulture),
                'a' => time.ToString("ddd", CultureInfo.InvariantCulture),
                'A' => time.ToString("dddd", CultureInfo.InvariantCulture),
                'p' => time.Hour < 12 ? "AM" : "PM",
                '%' => "%",
                _ => throw new UserError($"strftime_now: the %{directive} directive is not supported",
                    field: "chat_template"),
            });
        }
        return text.ToString();
    }
}
