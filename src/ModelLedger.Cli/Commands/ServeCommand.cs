using System.CommandLine;
using ModelLedger.Server;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger serve</c>: the OpenAI-compatible server over one base model and its named adapters, until
/// Ctrl+C (docs/server.md).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { DefaultValueFactory = _ => "127.0.0.1", Description = "Address to listen on" };
        var port = new Option<int>("--port") { DefaultValueFactory = _ => 8080, Description = "Port (0: a free one)" };
        var workspace = new Option<string>("--workspace") { DefaultValueFactory = _ => ".mledger", Description = "Ledger workspace folder (keys, billing)" };
        var db = new Option<string?>("--db") { Description = "Workspace database (SQLite path or PostgreSQL connection string)" };
        var model = new Option<string>("--model") { Required = true, Description = "HF model directory (served as its folder name)" };
        var adapters = new Option<string[]>("--adapter") { Description = "NAME=DIR: a PEFT adapter served as BASE:NAME (repeatable)" };
        var template = new Option<string?>("--template") { Description = "Chat template name (default: the model's own)" };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu", Description = "cpu or cuda" };
        var dtype = new Option<string>("--dtype") { DefaultValueFactory = _ => "float32", Description = "float32, bfloat16 or float16" };
        var open = new Option<bool>("--open") { Description = "No API keys and no billing (loopback only; local testing)" };
        var maxBody = new Option<long>("--max-body-bytes") { DefaultValueFactory = _ => 1 << 20, Description = "Largest request body" };
        var maxTokens = new Option<int>("--max-tokens-limit") { DefaultValueFactory = _ => 1024, Description = "Largest max_tokens a request may ask for" };
        var rate = new Option<int>("--rate-limit") { DefaultValueFactory = _ => 600, Description = "Requests per minute per API key" };
        var command = new Command("serve", "Serve a model and its adapters over an OpenAI-compatible HTTP API")
        {
            host, port, workspace, db, model, adapters, template, device, dtype, open, maxBody, maxTokens, rate,
        };
        command.SetAction(async (p, ct) =>
        {
            var options = new ServerOptions
            {
                Host = p.GetValue(host)!, Port = p.GetValue(port), Workspace = p.GetValue(workspace)!, Db = p.GetValue(db),
                ModelDirectory = p.GetValue(model)!, Adapters = Named(p.GetValue(adapters) ?? []),
                Template = p.GetValue(template), Device = p.GetValue(device)!, DType = p.GetValue(dtype)!,
                Open = p.GetValue(open),
                Limits = new ServerLimits
                {
                    MaxBodyBytes = p.GetValue(maxBody), MaxTokens = p.GetValue(maxTokens),
                    RequestsPerMinute = p.GetValue(rate),
                },
            };
            await using var server = await ServerHost.StartAsync(options, ct: ct);
            Console.Error.WriteLine($"serving {string.Join(", ", server.Models)} on {server.Address} " +
                $"({(options.Open ? "open: no keys, no billing" : "API keys required, calls billed")}); Ctrl+C stops");
            try { await server.WaitForShutdownAsync(ct); }
            catch (OperationCanceledException) { }
            Console.Error.WriteLine("stopped");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Dictionary<string, string> Named(string[] specs)
    {
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            int eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new UserError($"'{spec}' is not NAME=DIR", field: "--adapter");
            if (!named.TryAdd(spec[..eq], spec[(eq + 1)..]))
                throw new UserError($"adapter name '{spec[..eq]}' is given twice", field: "--adapter");
        }
        return named;
    }
}
