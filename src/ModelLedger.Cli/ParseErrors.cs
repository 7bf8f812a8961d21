using System.CommandLine;

namespace ModelLedger.Cli;

/// <summary>A command line that does not parse gets one <c>error:</c> line and a hint naming the verb's help, exit 2
/// (a user mistake), instead of the whole help text.</summary>
internal static class ParseErrors
{
    public static int Report(ParseResult parsed)
    {
        // "Required command was not provided" comes first for a mistyped verb; the unrecognised token says more.
        var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal))
            ?? parsed.Errors[0];
        Console.Error.WriteLine($"error: {error.Message}");
        var names = new List<string>();
        for (var c = parsed.CommandResult; c is not null; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            if (c.Command is not RootCommand) names.Insert(0, c.Command.Name);
        Console.Error.WriteLine($"hint: see mledger {string.Join(' ', names.Append("--help"))}");
        return ExitCodes.UserError;
    }
}
