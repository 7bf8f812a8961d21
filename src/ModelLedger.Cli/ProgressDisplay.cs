using Spectre.Console;

namespace ModelLedger.Cli;

/// <summary>Runs a long job with its log lines on stderr: on an interactive terminal a live progress bar (percent,
/// elapsed, remaining) sits under them; redirected output gets the log lines alone (each job's lines carry their own
/// progress and ETA).</summary>
internal static class ProgressDisplay
{
    public static T Run<T>(string name, Func<Action<string>, Action<int, int>, T> job)
    {
        if (Console.IsErrorRedirected) return job(Console.Error.WriteLine, (_, _) => { });
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(name, autoStart: false);
                result = job(line => console.MarkupLine(Markup.Escape(line)), (done, total) =>
                {
                    if (!task.IsStarted) task.StartTask();
                    task.MaxValue = total;
                    task.Value = done;
                });
            });
        return result;
    }
}
