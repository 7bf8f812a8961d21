using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ModelLedger.Rewards.Policy;

/// <summary>
/// Reads a fee policy YAML file into a <see cref="FeePolicy"/>, validating every field. All problems are collected
/// and reported at once (the first as the error, the rest in the hint), each with its line and dotted field name;
/// unknown keys are errors. See docs/rewards.md for the format.
/// </summary>
public static class PolicyYaml
{
    private sealed class Problems(string file)
    {
        public readonly List<(int Line, string Field, string Message)> List = [];
        public void Add(YamlNode node, string field, string message) => List.Add(((int)node.Start.Line, field,
            message));

        public void ThrowIfAny()
        {
            if (List.Count == 0) return;
            var (line, field, message) = List[0];
            var rest = List.Skip(1).Select(p => $"line {p.Line}: {p.Field}: {p.Message}").ToList();
            throw new UserError(message, file, line, field, rest.Count == 0 ? null : "also: " + string.Join("; ",
                rest));
        }
    }

    public static FeePolicy Load(string path)
    {
        if (!File.Exists(path)) throw new UserError("policy file not found", file: path);
        return Read(File.ReadAllText(path), path);
    }

    /// <summary>A policy sent as text (the server's <c>PUT /v1/rewards/policy</c>); <paramref name="path"/> names it
    /// in errors.</summary>
    public static FeePolicy Read(string text, string path)
    {
        var yaml = new YamlStream();
        try
        {
            using var reader = new StringReader(text);
            yaml.Load(reader);
        }
        catch (YamlException e)
        {
            throw new UserError($"not valid YAML: {e.InnerException?.Message ?? e.Message}", file: path,
                line: (int)e.Start.Line);
        }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new UserError("the top level must be a mapping (see docs/rewards.md)", file: path, line: 1);
        var problems = new Problems(path);
        var policy = Parse(root, problems);
        problems.ThrowIfAny();
        return policy!;
    }

    private static FeePolicy? Parse(YamlMappingNode root, Problems problems)
    {
        var top = Fields(root, "", problems, ["version", "treasury_account", "remainder_account", "escrow_account",
            "prices", "split_bps", "rules"]);
        if (top.TryGetValue("version", out var v) && Scalar(v, "version", problems) is string version && version != "1")
            problems.Add(v, "version", $"unsupported policy version {version} (this build reads 1)");
        var treasury = Account(top, "treasury_account", "rewards:treasury", problems);
        var remainder = Account(top, "remainder_account", treasury, problems);
        var escrow = Account(top, "escrow_account", "rewards:escrow", problems);
        if (escrow == treasury || escrow == remainder)
            problems.Add(top.GetValueOrDefault("escrow_account") ?? root, "escrow_account",
                "must differ from the treasury and remainder accounts");

        Price? defaultPrice = null;
        Dictionary<string, Price> models = new(StringComparer.Ordinal), adapters = new(StringComparer.Ordinal);
        if (!top.TryGetValue("prices", out var pricesNode)) problems.Add(root, "prices",
            "required (at least prices.default)");
        else if (Mapping(pricesNode, "prices", problems) is YamlMappingNode prices)
        {
            var p = Fields(prices, "prices.", problems, ["default", "models", "adapters"]);
            if (!p.TryGetValue("default", out var d)) problems.Add(prices, "prices.default", "required");
            else defaultPrice = ParsePrice(d, "prices.default", problems, allowOwner: false);
            ReadPriceMap(p, "models", models, problems);
            ReadPriceMap(p, "adapters", adapters, problems);
        }

        SplitBps? split = null;
        if (!top.TryGetValue("split_bps", out var splitNode)) problems.Add(root, "split_bps", "required");
        else if (Mapping(splitNode, "split_bps", problems) is YamlMappingNode s)
        {
            var f = Fields(s, "split_bps.", problems, ["training", "documents", "adapter_owner", "treasury"]);
            int Part(string key) => f.TryGetValue(key, out var n) ? Integer(n, $"split_bps.{key}", 0, SplitBps.Whole,
                problems) ?? 0 : 0;
            split = new SplitBps(Part("training"), Part("documents"), Part("adapter_owner"), Part("treasury"));
            if (split.Sum != SplitBps.Whole) problems.Add(s, "split_bps",
                $"parts must sum to {SplitBps.Whole} basis points (got {split.Sum})");
        }

        var rules = top.TryGetValue("rules", out var rulesNode) ? ParseRules(rulesNode, problems) : new RuleSettings();
        if (defaultPrice is null || split is null || rules is null) return null;
        return new FeePolicy(defaultPrice, models, adapters, split, treasury, remainder, escrow, rules);
    }

    private static RuleSettings? ParseRules(YamlNode node, Problems problems)
    {
        if (Mapping(node, "rules", problems) is not YamlMappingNode m) return null;
        var f = Fields(m, "rules.", problems, ["duplicates", "self_dealing", "ablation_min_effect", "min_quality",
            "group_cap_bps", "rate_limit", "answer_min_support", "hub_ratio", "max_refused_share",
            "wash_trading_share", "sybil_min_identities", "hub_baseline"]);
        var d = new RuleSettings();
        bool Flag(string key, bool fallback) => f.TryGetValue(key, out var n) ? Bool(n, $"rules.{key}",
            problems) ?? fallback : fallback;
        double? Threshold(string key, double? fallback, double min, double max) =>
            !f.TryGetValue(key, out var n) ? fallback : IsOff(n) ? null : Real(n, $"rules.{key}", min, max, problems);
        int? cap = !f.TryGetValue("group_cap_bps", out var c) || IsOff(c) ? null : Integer(c, "rules.group_cap_bps",
            1, SplitBps.Whole, problems);
        // At least 2: one identity is never a sybil cluster on its own.
        int? sybil = !f.TryGetValue("sybil_min_identities", out var sy) || IsOff(sy) ? null : Integer(sy,
            "rules.sybil_min_identities", 2, int.MaxValue, problems);
        RateLimit? rate = null;
        if (f.TryGetValue("rate_limit", out var r) && !IsOff(r) && Mapping(r, "rules.rate_limit",
            problems) is YamlMappingNode rm)
        {
            var rf = Fields(rm, "rules.rate_limit.", problems, ["max_contributions", "window_seconds"]);
            int? max = rf.TryGetValue("max_contributions", out var mx) ? Integer(mx,
                "rules.rate_limit.max_contributions", 1, int.MaxValue, problems) : null;
            int? window = rf.TryGetValue("window_seconds", out var w) ? Integer(w, "rules.rate_limit.window_seconds",
                1, int.MaxValue, problems) : null;
            if (max is null || window is null) problems.Add(rm, "rules.rate_limit",
                "needs max_contributions and window_seconds (or write: off)");
            else rate = new RateLimit(max.Value, window.Value);
        }
        return new RuleSettings(Flag("duplicates", d.Duplicates), Flag("self_dealing", d.SelfDealing),
            Threshold("ablation_min_effect", d.AblationMinEffect, double.MinValue, double.MaxValue),
                Threshold("min_quality", d.MinQuality, 0, 1), cap, rate,
            Threshold("answer_min_support", d.MinSupport, 0, 1), Threshold("hub_ratio", d.HubRatio, 1, 1e6),
            Threshold("max_refused_share", d.MaxRefusedShare, 0, 1),
            Threshold("wash_trading_share", d.WashTradingShare, 0, 1), sybil, Baseline(f, problems));
    }

    private static HubBaseline Baseline(Dictionary<string, YamlNode> f, Problems problems)
    {
        if (!f.TryGetValue("hub_baseline", out var n)) return HubBaseline.Documents;
        switch (n)
        {
            case YamlScalarNode { Value: "documents" }: return HubBaseline.Documents;
            case YamlScalarNode { Value: "owners" }: return HubBaseline.Owners;
            default:
                problems.Add(n, "rules.hub_baseline", "must be documents or owners");
                return HubBaseline.Documents;
        }
    }

    private static bool IsOff(YamlNode n) => n is YamlScalarNode { Value: "off" or "null" or "~" or "" };

    private static void ReadPriceMap(Dictionary<string, YamlNode> parent, string key, Dictionary<string, Price> into,
        Problems problems)
    {
        if (!parent.TryGetValue(key, out var node) || Mapping(node, $"prices.{key}",
            problems) is not YamlMappingNode m) return;
        foreach (var (k, v) in m.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            if (name.Length == 0) { problems.Add(k, $"prices.{key}", "names must be non-empty strings"); continue; }
            if (ParsePrice(v, $"prices.{key}.{name}", problems, allowOwner: true) is Price price) into[name] = price;
        }
    }

    private static Price? ParsePrice(YamlNode node, string field, Problems problems, bool allowOwner)
    {
        if (Mapping(node, field, problems) is not YamlMappingNode m) return null;
        var f = Fields(m, field + ".", problems, allowOwner ? ["prompt", "completion", "owner"] : ["prompt",
            "completion"]);
        UInt128? Amount(string key)
        {
            if (!f.TryGetValue(key, out var n)) { problems.Add(m, $"{field}.{key}", "required (units per 1,000 tokens)"); return null; }
            if (Scalar(n, $"{field}.{key}", problems) is not string text) return null;
            if (UInt128.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return value;
            problems.Add(n, $"{field}.{key}", $"must be a whole number of units >= 0 (got '{text}')");
            return null;
        }
        var prompt = Amount("prompt");
        var completion = Amount("completion");
        string? owner = f.TryGetValue("owner", out var o) ? Scalar(o, $"{field}.owner", problems) : null;
        if (owner is not null && !ValidAccount(owner)) problems.Add(o!, $"{field}.owner",
            "must be 1..200 printable characters");
        return prompt is null || completion is null ? null : new Price(prompt.Value, completion.Value, owner);
    }

    private static string Account(Dictionary<string, YamlNode> fields, string key, string fallback, Problems problems)
    {
        if (!fields.TryGetValue(key, out var node)) return fallback;
        var value = Scalar(node, key, problems);
        if (value is null) return fallback;
        if (!ValidAccount(value)) { problems.Add(node, key, "must be 1..200 printable characters"); return fallback; }
        return value;
    }

    private static bool ValidAccount(string id) => !string.IsNullOrWhiteSpace(id) && id.Length <= 200 && !id.Any(char.IsControl);

    private static Dictionary<string, YamlNode> Fields(YamlMappingNode m, string prefix, Problems problems,
        string[] known)
    {
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in m.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (!known.Contains(key)) problems.Add(k, prefix + key, $"unknown key (known: {string.Join(", ", known)})");
            else if (!result.TryAdd(key, v)) problems.Add(k, prefix + key, "appears twice");
        }
        return result;
    }

    private static YamlMappingNode? Mapping(YamlNode node, string field, Problems problems)
    {
        if (node is YamlMappingNode m) return m;
        problems.Add(node, field, "must be a mapping of key: value lines");
        return null;
    }

    private static string? Scalar(YamlNode node, string field, Problems problems)
    {
        if (node is YamlScalarNode { Value: string s }) return s;
        problems.Add(node, field, "must be a single value");
        return null;
    }

    private static int? Integer(YamlNode node, string field, int min, int max, Problems problems)
    {
        if (Scalar(node, field, problems) is not string s) return null;
        if (int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture,
            out var v) && v >= min && v <= max) return v;
        problems.Add(node, field, $"must be a whole number in {min}..{max} (got '{s}')");
        return null;
    }

    private static double? Real(YamlNode node, string field, double min, double max, Problems problems)
    {
        if (Scalar(node, field, problems) is not string s) return null;
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture,
            out var v) && double.IsFinite(v) && v >= min && v <= max) return v;
        problems.Add(node, field,
            min == double.MinValue ? $"must be a number (got '{s}')" : $"must be a number in {min}..{max} (got '{s}')");
        return null;
    }

    private static bool? Bool(YamlNode node, string field, Problems problems)
    {
        var s = Scalar(node, field, problems);
        if (s is "true" or "false") return s == "true";
        if (s is not null) problems.Add(node, field, $"must be true or false (got '{s}')");
        return null;
    }
}
