using ModelLedger.Jobs;

namespace ModelLedger.Cli;

/// <summary>How the CLI shows a job's events: messages as log lines, steps on the progress bar (see
/// <see cref="ProgressDisplay"/>), or every event as one JSON line on stdout for a parent process.</summary>
internal static class JobRendering
{
    public static IProgress<JobEvent> To(Action<string> log, Action<int, int> progress) => new JobEvents(e =>
    {
        switch (e)
        {
            case MessageEvent m: log(m.Message); break;
            case StepEvent s: progress(s.Step, s.Total); break;
        }
    });

    /// <summary>Every event as a JSON line on stdout, flushed at once so a watching parent sees it live.</summary>
    public static IProgress<JobEvent> JsonLines() => new JobEvents(e =>
    {
        Console.Out.WriteLine(JobEventJson.Write(e));
        Console.Out.Flush();
    });
}
