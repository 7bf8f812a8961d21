using System.CommandLine;
using ModelLedger;
using ModelLedger.Cli;
using ModelLedger.Cli.Commands;

var root = new RootCommand("ModelLedger: fine-tune, evaluate, serve and account for Llama-family models")
{
    GenerateCommand.Create(), ChatCommand.Create(), InfoCommand.Create(), InitModelCommand.Create(),
    QuickstartCommand.Create(), BenchCommand.Create(), TrainCommand.Create(), ExportCommand.Create(), LedgerCommand.Create(), MetricsCommand.Create(), EvalCommand.Create(), DataCommand.Create(),
    ContributorCommand.Create(), DatanetCommand.Create(),
    AttributeCommand.Create(), AttributionCommand.Create(),
    SpansCommand.Create(), RagCommand.Create(new ModelLedger.Attribution.Rag.DatanetDocuments()),
    RewardsCommand.Create(), PerplexityCommand.Create(),
    ServeCommand.Create(),
    WorkerCommand.Create(),
    JobsCommand.Create(),
};
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
try
{
    var parsed = root.Parse(args);
    if (parsed.Errors.Count > 0) return ParseErrors.Report(parsed);
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancel.Token);
}
catch (UserError e)
{
    Console.Error.WriteLine($"error: {e.Describe()}");
    if (e.Hint is not null) Console.Error.WriteLine($"hint: {e.Hint}");
    return ExitCodes.UserError;
}
catch (ModelLedger.Ledger.LedgerError e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return ExitCodes.UserError;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("interrupted");
    return ExitCodes.Interrupted;
}
