using System.Globalization;
using System.Numerics;

namespace ModelLedger.Tuning.Config;

/// <summary>Typed reads of a <see cref="RawConfig"/> that collect problems instead of throwing at the first, each
/// naming where the value came from (file:line, or the command line).</summary>
internal sealed class ValueReader(RawConfig raw)
{
    private readonly List<string> _problems = [];

    public IReadOnlyList<string> Problems => _problems;

    public bool Has(string key) => raw.Has(key) && !string.IsNullOrEmpty(raw.Get(key)) && raw.Get(key) != "null";
    public string? Get(string key) => Has(key) ? raw.Get(key) : null;
    public void Problem(string key, string message) => _problems.Add($"{raw.Where(key)}: {key}: {message}");

    public string Required(string key)
    {
        if (Get(key) is string v) return v;
        _problems.Add($"{raw.Source}: {key}: is required");
        return "";
    }

    public string? String(string key, Func<string, string?>? check)
    {
        var text = Get(key);
        if (text is not null && check?.Invoke(text) is string problem) Problem(key, problem);
        return text;
    }

    public int Int(string key, int fallback, int min, int max) =>
        Number(key, fallback, min, max, NumberStyles.Integer, "an integer");

    public double Double(string key, double fallback, double min, double max) =>
        Number(key, fallback, min, max, NumberStyles.Float, "a number");

    private T Number<T>(string key, T fallback, T min, T max, NumberStyles style, string kind)
        where T : INumber<T>, IMinMaxValue<T>
    {
        if (Get(key) is not string text) return fallback;
        if (!T.TryParse(text, style, CultureInfo.InvariantCulture, out var v))
        {
            Problem(key, $"must be {kind} (got {text})");
            return fallback;
        }
        if (v < min || v > max)
            Problem(key, max == T.MaxValue ? $"must be ≥ {min} (got {v})" : $"must be in {min}..{max} (got {v})");
        return v;
    }

    public bool Bool(string key, bool fallback)
    {
        if (Get(key) is not string text) return fallback;
        if (ParseBool(text) is bool value) return value;
        Problem(key, $"must be true or false (got {text})");
        return fallback;
    }

    /// <summary>The key's value as a bool; null when absent or not a bool (<see cref="Bool"/> reports that).</summary>
    public bool? BoolIfGiven(string key) => Get(key) is string text ? ParseBool(text) : null;

    private static bool? ParseBool(string text) => text.ToLowerInvariant() switch
    {
        "true" or "yes" or "1" => true,
        "false" or "no" or "0" => false,
        _ => null,
    };

    public T Enum<T>(string key, T fallback) where T : struct, Enum
    {
        if (Get(key) is not string text) return fallback;
        if (System.Enum.TryParse<T>(text, ignoreCase: true, out var v) && !int.TryParse(text, out _)) return v;
        var names = string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));
        Problem(key, $"must be one of {names} (got {text})");
        return fallback;
    }

    public void ThrowIfAny()
    {
        if (_problems.Count == 0) return;
        throw new UserError($"{_problems.Count} problem(s) in the config:\n  " + string.Join("\n  ", _problems),
            hint: "mledger train --list-keys shows every key (docs/training.md too)");
    }
}
