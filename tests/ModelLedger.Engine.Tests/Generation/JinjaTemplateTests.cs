using ModelLedger.Engine.Generation.Jinja;

namespace ModelLedger.Engine.Generation;

/// <summary>The Jinja subset, one construct per case. Expected texts were worked out from Jinja2's documented rules
/// with transformers' settings (trim_blocks, lstrip_blocks, loop controls) and checked against Python jinja2 3.1.6.</summary>
public sealed class JinjaTemplateTests
{
    private static readonly Dictionary<string, object?>[] Messages =
    [
        new() { ["r"] = "u", ["c"] = "x" }, new() { ["r"] = "a", ["c"] = "y" }, new() { ["r"] = "u", ["c"] = "z" },
    ];

    public static TheoryData<string, string> Cases => new()
    {
        // whitespace: trim_blocks, lstrip_blocks, "-" strips, "+" keeps the indent
        { "{% for x in [1, 2] %}\n  {{ x }}\n{% endfor %}", "  1\n  2\n" },
        { "  {% if true %}yes{% endif %}\nz", "yesz" },
        { "a  {{- 'b' -}}  c", "abc" },
        { "  {%+ if true %}x{% endif %}", "  x" },
        { "a{# c #}b\n{# d #}\nx", "ab\nx" },
        // scoping: set in a loop stays there; namespace attributes carry out
        { "{% set ns = namespace(n=0) %}{% for m in [1, 2, 3] %}{% set ns.n = ns.n + m %}{% endfor %}{{ ns.n }}", "6" },
        { "{% set n = 0 %}{% for m in [1, 2, 3] %}{% set n = n + m %}{% endfor %}{{ n }}", "0" },
        // loop variables, loop filter, loop controls, unpacking
        { "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %},{% endfor %}",
            "10F,21,32L," },
        { "{% for m in ms if m.r == 'u' %}{{ loop.index }}{{ m.c }}{% endfor %}", "1x2z" },
        { "{% for x in [1,2,3,4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", "13" },
        { "{% for k, v in {'a': 1, 'b': 2}|items %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;" },
        { "{% for x in [] %}a{% else %}empty{% endfor %}", "empty" },
        // filters
        { "{{ ' hi '|trim|upper }}{{ [1,2,3]|length }}{{ x|default('d') }}{{ 'AbC'|lower }}", "HI3dabc" },
        { "{{ {'a': 1, 'b': [true, none, 'é\"']}|tojson }}", "{\"a\": 1, \"b\": [true, null, \"é\\\"\"]}" },
        { "{{ {'a': [1]}|tojson(indent=2) }}", "{\n  \"a\": [\n    1\n  ]\n}" },
        { "{{ ms|selectattr('r', 'equalto', 'u')|list|length }} {{ (ms|map(attribute='c')|list)[1] }}", "2 y" },
        { "{{ ['a','b']|join(', ') }} {{ 'A b'.lower() }} {{ ' x '.strip() }} {{ 'a,b'.split(',') }} {{ 'ab'.startswith('a') }}",
            "a, b a b x ['a', 'b'] True" },
        // slicing, concatenation, arithmetic, conditional expressions, str() of values
        { "{{ 'hello'[1:3] }}{{ [1,2,3][-1] }}{{ [1,2,3][::-1] }}{{ ms[1:]|length }}", "el3[3, 2, 1]2" },
        { "{{ 'a' + 'b' ~ 1 }}", "ab1" },
        { "{{ 7 // 2 }} {{ -7 % 3 }} {{ 1 / 2 }} {{ 2 ** 3 }} {{ 1.0 }} {{ none }} {{ [1, 'a'] }}", "3 2 0.5 8 1.0 None [1, 'a']" },
        { "{{ 'y' if 1 > 2 else 'n' }}{% if x == 1 %}a{% elif 2 == 2 %}b{% else %}c{% endif %}", "nb" },
        // tests and membership, dict keys by attribute or item
        { "{{ x is defined }}{{ none is none }}{{ 'x' is string }}{{ 1 is string }}{{ 1 is not none }}", "FalseTrueTrueFalseTrue" },
        { "{{ 'ell' in 'hello' }}{{ 2 in [1,2] }}{{ 'k' in {'k': 1} }}{{ 3 not in [1] }}", "TrueTrueTrueTrue" },
        { "{{ ms[0].r }}{{ ms[0]['c'] }}{{ ms[0].missing is defined }}", "uxFalse" },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Render_FollowsJinja2(string source, string expected) =>
        Assert.Equal(expected, JinjaTemplate.Parse(source).Render(new Dictionary<string, object?> { ["ms"] = Messages }));

    [Fact]
    public void StrftimeNow_ReadsTheClock() =>
        Assert.Equal("05 Mar 2025", JinjaTemplate.Parse("{{ strftime_now('%d %b %Y') }}")
            .Render(new Dictionary<string, object?>(), new FixedClock(new DateTimeOffset(2025, 3, 5, 10, 0, 0, TimeSpan.Zero))));

    [Fact]
    public void RaiseException_IsAUserErrorWithTheTemplatesMessage()
    {
        var error = Assert.Throws<UserError>(() => JinjaTemplate.Parse("{{ raise_exception('roles must alternate') }}")
            .Render(new Dictionary<string, object?>()));
        Assert.Contains("roles must alternate", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ x|wordwrap }}", "'wordwrap' filter")]
    [InlineData("{% macro f() %}{% endmacro %}", "'macro' statement")]
    [InlineData("{% set x %}a{% endset %}", "block assignments")]
    [InlineData("{{ (1 }}", "line 1")]
    [InlineData("{{ undefined_thing.attribute }}", "of an undefined value")]
    [InlineData("{% if true %}", "ends before")]
    [InlineData("{{ 'a' + 1 }}", "use ~")]
    public void Unsupported_OrWrong_IsAUserErrorNamingIt(string source, string expected)
    {
        var error = Assert.Throws<UserError>(() => JinjaTemplate.Parse(source).Render(new Dictionary<string, object?> { ["x"] = 1L }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal("chat_template", error.Field);
    }
}
