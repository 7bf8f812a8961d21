using System.Globalization;

namespace ModelLedger.Ledger.Storage;

/// <summary>Reads database cells into the types the schema promises. An edited cell (text in an integer column, a
/// balance that is not a number) becomes one <see cref="LedgerError"/> naming where it is, never a cast exception.</summary>
internal static class Cells
{
    private const string Hint = "; run mledger ledger verify";

    /// <summary>The cell as a comparable value: integers as long, text as string, NULL as null, anything else
    /// tagged with its type, so verify can compare stored cells with derived ones exactly.</summary>
    public static object? Normalize(object? value) => value switch
    {
        null or DBNull => null,
        long or string => value,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        bool f => f ? 1L : 0L,
        byte[] blob => $"<blob {Convert.ToHexStringLower(blob)}>",
        double d => $"<real {d.ToString("R", CultureInfo.InvariantCulture)}>",
        _ => $"<{value.GetType().Name} {Convert.ToString(value, CultureInfo.InvariantCulture)}>",
    };

    /// <summary>How a cell is shown in a message.</summary>
    public static string Show(object? value) => Normalize(value) switch
    {
        null => "NULL",
        string s => $"'{(s.Length > 80 ? s[..80] + "…" : s)}'",
        var v => Convert.ToString(v, CultureInfo.InvariantCulture)!,
    };

    public static long Int64(object? value, string where) =>
        Normalize(value) is long v ? v : throw new LedgerError($"{where} is not an integer ({Show(value)}){Hint}");

    public static string Text(object? value, string where) =>
        Normalize(value) is string v ? v : throw new LedgerError($"{where} is not text ({Show(value)}){Hint}");

    public static string? OptionalText(object? value, string where) => Normalize(value) is null ? null : Text(value, where);

    public static bool Flag(object? value, string where) => Normalize(value) switch
    {
        0L => false,
        1L => true,
        _ => throw new LedgerError($"{where} is not 0 or 1 ({Show(value)}){Hint}"),
    };

    public static UInt128 Amount(object? value, string where) =>
        Normalize(value) is string s && TryAmount(s, out var v) ? v
            : throw new LedgerError($"{where} is not an unsigned 128-bit decimal ({Show(value)}){Hint}");

    /// <summary>Canonical decimal text only (no sign, spaces or leading zeros), so one amount has one spelling.</summary>
    public static bool TryAmount(string text, out UInt128 value) =>
        UInt128.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value)
        && value.ToString(CultureInfo.InvariantCulture) == text;

    public static string Amount(UInt128 value) => value.ToString(CultureInfo.InvariantCulture);
}
