using System.Globalization;

namespace ModelLedger.Tuning.Config;

/// <summary>The kinds of value a config key takes, as docs and the GUI's form show them.</summary>
public enum ConfigKeyType { String, Int, Float, Bool, Choice }

/// <summary>
/// One training config key, written once: LLaMA-Factory name, type, default, allowed values, one line of help, the
/// names LLaMA-Factory used for it before (renames), and how its text becomes a typed value on
/// <see cref="TrainConfig"/>.
/// Parsing, did-you-mean, <c>mledger train --list-keys</c> and docs/training.md all read <see cref="TrainKeys.All"/>.
/// </summary>
public sealed class ConfigKey
{
    private readonly Func<TrainConfig, ValueReader, TrainConfig> _apply;

    private ConfigKey(string name, ConfigKeyType type, string defaultText, string allowed, string help, string example,
        Func<TrainConfig, ValueReader, TrainConfig> apply)
    {
        (Name, Type, Default, Allowed, Help, Example, _apply) =
            (name, type, defaultText, allowed, help, example, apply);
    }

    public string Name { get; }
    public ConfigKeyType Type { get; }
    /// <summary>The default as docs show it: a value, <c>(required)</c>, <c>none</c>, or a rule such as
    /// <c>2 × lora_rank</c>.</summary>
    public string Default { get; }
    /// <summary>Allowed values or range, empty when any value of the type goes.</summary>
    public string Allowed { get; }
    public string Help { get; }
    /// <summary>Old LLaMA-Factory names of this key; a config using one gets "renamed: use NAME".</summary>
    public IReadOnlyList<string> Renamed { get; private init; } = [];
    /// <summary>A value this key accepts (tests parse every key with it).</summary>
    public string Example { get; }

    public ConfigKey WithRenamed(params string[] oldNames) => new(Name, Type, Default, Allowed, Help, Example, _apply)
    {
        Renamed = oldNames,
    };

    internal TrainConfig Apply(TrainConfig config, ValueReader reader) => _apply(config, reader);

    /// <summary>Numbers as a YAML file would write them: 5e-5, not 5E-05.</summary>
    private static string Text(double v) => v != 0 && Math.Abs(v) < 1e-3
        ? v.ToString("0.###e0", CultureInfo.InvariantCulture)
        : v.ToString(CultureInfo.InvariantCulture);

    private static string Range(double min, double max) => (min, max) switch
    {
        (double.MinValue, double.MaxValue) => "",
        (_, double.MaxValue) => $"≥ {Text(min)}",
        _ => $"{Text(min)}..{Text(max)}",
    };

    public static ConfigKey Int(string name, int fallback, string help, Func<TrainConfig, int, TrainConfig> set,
        int min = int.MinValue, int max = int.MaxValue) =>
        new(name, ConfigKeyType.Int, Text(fallback), Range(Bound(min), Bound(max)), help, Text(Math.Max(fallback, min)),
            (c, r) => set(c, r.Int(name, fallback, min, max)));

    /// <summary>An integer that is unset (null) unless given.</summary>
    public static ConfigKey OptionalInt(string name, string help, Func<TrainConfig, int?, TrainConfig> set,
        int min = int.MinValue, int max = int.MaxValue, string? allowed = null) =>
        new(name, ConfigKeyType.Int, "none", allowed ?? Range(Bound(min), Bound(max)), help, Text(Math.Max(min, 1)),
            (c, r) => set(c, r.Has(name) ? r.Int(name, min, min, max) : null));

    public static ConfigKey Float(string name, double fallback, string help, Func<TrainConfig, double, TrainConfig> set,
        double min = double.MinValue, double max = double.MaxValue) =>
        Float(name, _ => fallback, Text(fallback), help, set, min, max);

    /// <summary>A number whose default depends on keys read before it (the table is applied in order).</summary>
    public static ConfigKey Float(string name, Func<TrainConfig, double> fallback, string defaultText, string help,
        Func<TrainConfig, double, TrainConfig> set, double min = double.MinValue, double max = double.MaxValue) =>
        new(name, ConfigKeyType.Float, defaultText, Range(min, max), help, Text(Math.Max(min, 0.5 * Math.Min(1, max))),
            (c, r) => set(c, r.Double(name, fallback(c), min, max)));

    public static ConfigKey Bool(string name, bool fallback, string help, Func<TrainConfig, bool, TrainConfig> set) =>
        Bool(name, _ => fallback, fallback ? "true" : "false", help, set);

    public static ConfigKey Bool(string name, Func<TrainConfig, bool> fallback, string defaultText, string help,
        Func<TrainConfig, bool, TrainConfig> set) =>
        new(name, ConfigKeyType.Bool, defaultText, "true, false", help, "true",
            (c, r) => set(c, r.Bool(name, fallback(c))));

    public static ConfigKey Choice<T>(string name, T fallback, string help, Func<TrainConfig, T, TrainConfig> set)
        where T : struct, Enum =>
        new(name, ConfigKeyType.Choice, Lower(fallback), string.Join(", ", Enum.GetValues<T>().Select(Lower)), help,
            Lower(Enum.GetValues<T>()[^1]), (c, r) => set(c, r.Enum(name, fallback)));

    /// <summary>A string; <paramref name="check"/> returns a problem or null, and runs with all the other
    /// checks.</summary>
    public static ConfigKey String(string name, string? fallback, string help,
        Func<TrainConfig, string?, TrainConfig> set,
        string example, string allowed = "", Func<string, string?>? check = null) =>
        new(name, ConfigKeyType.String, fallback ?? "none", allowed, help, example,
            (c, r) => set(c, r.String(name, check) ?? fallback));

    /// <summary>A string the config must give.</summary>
    public static ConfigKey Required(string name, string help, Func<TrainConfig, string, TrainConfig> set,
        string example) =>
        new(name, ConfigKeyType.String, "(required)", "", help, example, (c, r) => set(c, r.Required(name)));

    private static double Bound(int v) =>
        v switch { int.MinValue => double.MinValue, int.MaxValue => double.MaxValue, _ => v };

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
