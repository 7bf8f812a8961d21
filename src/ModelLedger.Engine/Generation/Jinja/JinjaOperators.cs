using static ModelLedger.Engine.Generation.Jinja.JinjaValues;

namespace ModelLedger.Engine.Generation.Jinja;

/// <summary>Binary and unary operators with Python's rules (str + str, list + list, int // int floors, % takes the
/// divisor's sign, / always gives a float, ~ joins the str() of both sides).</summary>
internal static class JinjaOperators
{
    public static object? Apply(string op, object? left, object? right, int line) => op switch
    {
        "==" => PyEquals(left, right),
        "!=" => !PyEquals(left, right),
        "<" => Compare(left, right, line) < 0,
        ">" => Compare(left, right, line) > 0,
        "<=" => Compare(left, right, line) <= 0,
        ">=" => Compare(left, right, line) >= 0,
        "in" => Contains(right, left, line),
        "not in" => !Contains(right, left, line),
        "~" => ToText(left) + ToText(right),
        "+" => Add(left, right, line),
        "*" when left is string s && right is long n => string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, n))),
        "-" or "*" or "/" or "//" or "%" or "**" => Arithmetic(op, left, right, line),
        _ => throw Error(line, $"unknown operator {op}"),
    };

    public static object? Negate(object? value, int line) => value switch
    {
        long l => (object)-l,  // object arms: a switch of long and double arms would make every result a double
        double d => -d,
        bool b => b ? -1L : 0L,
        _ => throw Error(line, $"cannot negate a {TypeName(value)}"),
    };

    public static bool Contains(object? container, object? item, int line) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        string => throw Error(line, $"'in <string>' needs a string on the left, not a {TypeName(item)}"),
        List<object?> list => list.Any(x => PyEquals(x, item)),
        Dictionary<string, object?> dict => item is string key && dict.ContainsKey(key),
        Undefined => throw Error(line, "'in' on an undefined value"),
        _ => throw Error(line, $"'in' is not supported on a {TypeName(container)}"),
    };

    private static object? Add(object? left, object? right, int line)
    {
        if (left is string a && right is string b) return a + b;
        if (left is List<object?> x && right is List<object?> y) return x.Concat(y).ToList();
        if (IsNumber(left) && IsNumber(right)) return Arithmetic("+", left, right, line);
        throw Error(line, $"cannot add a {TypeName(left)} and a {TypeName(right)} (use ~ to join as text)");
    }

    private static object? Arithmetic(string op, object? left, object? right, int line)
    {
        if (!IsNumber(left) || !IsNumber(right))
            throw Error(line, $"unsupported operand types for {op}: {TypeName(left)} and {TypeName(right)}");
        bool integers = left is long or bool && right is long or bool;
        if (integers)
        {
            long a = (long)ToDouble(left), b = (long)ToDouble(right);
            switch (op)
            {
                case "+": return a + b;
                case "-": return a - b;
                case "*": return a * b;
                case "//" or "%" when b == 0: throw Error(line, "division by zero");
                case "//": return (long)Math.Floor((double)a / b);
                case "%": return ((a % b) + b) % b;
                case "**" when b >= 0: return (long)Math.Pow(a, b);
            }
        }
        double x = ToDouble(left), y = ToDouble(right);
        if (op is "/" or "//" or "%" && y == 0) throw Error(line, "division by zero");
        return op switch
        {
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" => x / y,
            "//" => Math.Floor(x / y),
            "%" => x - y * Math.Floor(x / y),
            _ => Math.Pow(x, y),
        };
    }
}
