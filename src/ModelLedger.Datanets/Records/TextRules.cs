namespace ModelLedger.Datanets.Records;

/// <summary>The character rules every text field obeys: not empty or whitespace-only (unless the field is optional
/// and empty), no control characters other than tab and newline, no lone UTF-16 surrogates (JSON \ud800 escapes).
/// </summary>
internal static class TextRules
{
    public static string? Problem(string s, bool allowEmpty = false)
    {
        if (s.Length == 0) return allowEmpty ? null : "is empty";
        if (string.IsNullOrWhiteSpace(s)) return "is whitespace only";
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsControl(c) && c is not '\t' and not '\n')
                return $"contains control character U+{(int)c:X4} at offset {i} (only tab and newline are allowed)";
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return $"contains a lone surrogate U+{(int)c:X4} at offset {i} (not valid Unicode)";
        }
        return null;
    }
}
