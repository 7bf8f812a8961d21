namespace ModelLedger;

/// <summary>A mistake the user can fix (bad file, bad flag, bad config). Caught once by the CLI and printed as
/// <c>error: FILE:LINE: FIELD: MESSAGE</c> plus an optional hint, never as a stack trace.</summary>
public sealed class UserError(string message, string? file = null, int? line = null, string? field = null, string? hint = null)
    : Exception(message)
{
    public string? File { get; } = file;
    public int? Line { get; } = line;
    public string? Field { get; } = field;
    public string? Hint { get; } = hint;

    /// <summary>One line: where, what field, what is wrong.</summary>
    public string Describe()
    {
        var where = File is null ? "" : Line is null ? $"{File}: " : $"{File}:{Line}: ";
        var field = Field is null ? "" : $"{Field}: ";
        return $"{where}{field}{Message}";
    }
}
