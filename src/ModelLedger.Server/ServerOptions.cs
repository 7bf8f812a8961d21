using Microsoft.Extensions.Options;
using ModelLedger.Jobs.Queue;
using ModelLedger.Ledger;

namespace ModelLedger.Server;

/// <summary>What <c>mledger serve</c> serves and how: address, workspace, the base model and its named adapters, the
/// chat template and the abuse limits. Validated before anything loads (<see cref="ServerOptionsValidator"/>).</summary>
public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; } = 8080;
    public string Workspace { get; init; } = ".mledger";
    /// <summary>Workspace database connection (SQLite path or PostgreSQL connection string); null: the workspace's.
    /// </summary>
    public string? Db { get; init; }
    public required string ModelDirectory { get; init; }
    /// <summary>Served adapters: name → PEFT adapter folder; requested as <c>BASE:NAME</c>.</summary>
    public IReadOnlyDictionary<string, string> Adapters { get; init; } = new Dictionary<string, string>();
    /// <summary>A named chat template; null: the model's own chat_template, else <c>empty</c>.</summary>
    public string? Template { get; init; }
    public string Device { get; init; } = "cpu";
    public string DType { get; init; } = "float32";
    /// <summary>True: no API keys and no billing (local use only; refused on a non-loopback host).</summary>
    public bool Open { get; init; }
    public ServerLimits Limits { get; init; } = new();
    /// <summary>Opens the job queue the management API submits to, over a workspace the server opens for it and
    /// disposes after the queue; null: the job routes answer 503. Default: <see cref="ServerJobQueue.Open"/>.</summary>
    public Func<LedgerWorkspace, IJobQueue>? JobQueue { get; init; } = ServerJobQueue.Open;
    /// <summary>How often <c>GET /v1/jobs/{id}/events</c> looks for new log lines while a job runs.</summary>
    public TimeSpan JobPollInterval { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>The job queue a server uses unless its options name another: the workspace database's queue.</summary>
public static class ServerJobQueue
{
    /// <summary>The workspace database's queue (<see cref="JobQueues.Open"/>), shared with <c>mledger worker</c>.</summary>
    public static Func<LedgerWorkspace, IJobQueue>? Open => workspace => JobQueues.Open(workspace);
}

/// <summary>Abuse limits: request body bytes, the largest max_tokens a request may ask for, and requests per minute
/// per API key (a token bucket refilled continuously).</summary>
public sealed record ServerLimits
{
    public long MaxBodyBytes { get; init; } = 1 << 20;
    public int MaxTokens { get; init; } = 1024;
    public int RequestsPerMinute { get; init; } = 600;
}

/// <summary>Every problem with <see cref="ServerOptions"/> at once, before the model loads.</summary>
internal sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions o)
    {
        var problems = new List<string>();
        if (o.Port is < 0 or > 65535) problems.Add($"--port: must be 0..65535 (got {o.Port})");
        if (!System.Net.IPAddress.TryParse(o.Host, out var ip) && o.Host != "localhost")
            problems.Add($"--host: '{o.Host}' is not an IP address or localhost");
        else if (o.Open && o.Host != "localhost" && !System.Net.IPAddress.IsLoopback(ip!))
            problems.Add($"--open: serving without keys is only allowed on a loopback host (got {o.Host})");
        if (!Directory.Exists(o.ModelDirectory)) problems.Add($"--model: folder not found: {o.ModelDirectory}");
        foreach (var (adapter, dir) in o.Adapters)
            problems.AddRange(AdapterProblems(adapter, dir).Select(p => $"--adapter {p}"));
        if (o.Limits.MaxBodyBytes < 1024) problems.Add($"--max-body-bytes: must be ≥ 1024 (got {o.Limits.MaxBodyBytes})");
        if (o.Limits.MaxTokens < 1) problems.Add($"--max-tokens-limit: must be ≥ 1 (got {o.Limits.MaxTokens})");
        if (o.JobPollInterval <= TimeSpan.Zero) problems.Add($"job poll interval: must be > 0 (got {o.JobPollInterval})");
        if (o.Limits.RequestsPerMinute < 1)
            problems.Add($"--rate-limit: must be ≥ 1 request per minute (got {o.Limits.RequestsPerMinute})");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>What is wrong with serving <paramref name="dir"/> as adapter <paramref name="name"/> (at start, or
    /// loaded by an admin).</summary>
    public static IEnumerable<string> AdapterProblems(string name, string dir)
    {
        if (name.Length == 0 || name.Contains(':', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
            yield return $"name '{name}' must be non-empty, without ':' or spaces";
        if (!Directory.Exists(dir)) yield return $"{name}: folder not found: {dir}";
    }
}
