using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ModelLedger.Tuning.Config;

/// <summary>A flat key → value map from a YAML file plus command-line overrides, remembering where each value came
/// from (file line, or the command line) so errors can point at it.</summary>
public sealed class RawConfig
{
    private readonly Dictionary<string, (string Value, int? Line)> _values = new(StringComparer.Ordinal);

    public string Source { get; }
    public IEnumerable<string> Keys => _values.Keys;

    private RawConfig(string source) => Source = source;

    /// <summary>Reads a YAML (or JSON, which YAML reads too) config file plus overrides.</summary>
    public static RawConfig Load(string path, IReadOnlyList<string> overrides)
    {
        if (Directory.Exists(path)) throw new UserError("the config is a folder, not a YAML file", file: path);
        if (!File.Exists(path)) throw new UserError("config file not found", file: path);
        return Parse(File.ReadAllText(path), path, overrides);
    }

    /// <summary>Reads a config posted as text (YAML or JSON); <paramref name="source"/> names it in errors.</summary>
    public static RawConfig Parse(string text, string source, IReadOnlyList<string> overrides)
    {
        var config = new RawConfig(source);
        var yaml = new YamlStream();
        try
        {
            using var reader = new StringReader(text);
            yaml.Load(reader);
        }
        catch (YamlException e)
        {
            // The scanner notices a tab only where it breaks the structure, often lines later: name the tab's line.
            if (FirstTabIndentedLine(text) is int tabLine)
                throw new UserError("indented with a tab; YAML indents with spaces", file: source, line: tabLine);
            throw new UserError($"not valid YAML: {e.InnerException?.Message ?? e.Message}", file: source,
                line: (int)e.Start.Line);
        }
        if (yaml.Documents.Count > 0)
        {
            if (yaml.Documents[0].RootNode is not YamlMappingNode root)
                throw new UserError("the top level must be a mapping of key: value lines", file: source,
                    line: (int)yaml.Documents[0].RootNode.Start.Line);
            foreach (var (keyNode, valueNode) in root.Children)
            {
                var key = ((YamlScalarNode)keyNode).Value ?? "";
                var value = valueNode switch
                {
                    YamlScalarNode s => s.Value ?? "",
                    YamlSequenceNode seq =>
                        string.Join(",", seq.Children.OfType<YamlScalarNode>().Select(c => c.Value)),
                    _ => throw new UserError("expected a single value or a list", file: source,
                        line: (int)valueNode.Start.Line, field: key),
                };
                config._values[key] = (value, (int)keyNode.Start.Line);
            }
        }
        config.ApplyOverrides(overrides);
        return config;
    }

    private static int? FirstTabIndentedLine(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            if (lines[i][..indent].Contains('\t')) return i + 1;
        }
        return null;
    }

    /// <summary>Applies <c>key=value</c> and <c>--key value</c> (or <c>--key=value</c>) overrides, LLaMA-Factory style.</summary>
    private void ApplyOverrides(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string key, value;
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                var body = arg[2..];
                int eq = body.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0) (key, value) = (body[..eq], body[(eq + 1)..]);
                else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) (key, value) = (body, args[++i]);
                else (key, value) = (body, "true");
            }
            else if (arg.Contains('=', StringComparison.Ordinal)) (key, value) = (arg[..arg.IndexOf('=', StringComparison.Ordinal)], arg[(arg.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            else throw new UserError($"cannot read override '{arg}'", hint: "write key=value or --key value");
            _values[key.Replace('-', '_')] = (value, null);
        }
    }

    public bool Has(string key) => _values.ContainsKey(key);
    public string? Get(string key) => _values.TryGetValue(key, out var v) ? v.Value : null;
    public int? LineOf(string key) => _values.TryGetValue(key, out var v) ? v.Line : null;
    public string Where(string key) => LineOf(key) is int line ? $"{Source}:{line}" : "command line";
}
