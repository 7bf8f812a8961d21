using System.CommandLine;
using ModelLedger.Data.Chat;
using ModelLedger.Engine.Generation;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger chat</c>: an interactive terminal chat with the model's chat template, streaming replies.
/// Lines starting with / are commands: /reset, /system TEXT, /exit. With <c>--bill CALLER</c> each reply is one billed
/// inference <c>ID:N</c> (N counts replies from 1), refused before generating when the caller cannot pay.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var sampling = new SamplingOptions();
        var billing = new BillingOptions();
        var template = new Option<string?>("--template") { Description = $"Chat format: {string.Join(", ", ChatTemplate.Known.Keys)} (default: from tokenizer_config.json)" };
        var system = new Option<string?>("--system") { Description = "System prompt" };
        var command = new Command("chat", "Chat with a model in the terminal") { template, system };
        command.With(model.All).With(sampling.All).With(billing.All);
        command.SetAction((p, ct) =>
        {
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            var chat = p.GetValue(template) is string name ? ChatTemplate.Named(name) : ChatTemplate.Detect(loaded.Tokenizer);
            var options = sampling.Build(p, loaded.Directory) with { StopTokenIds = chat.StopTokenIds(loaded.Tokenizer) };
            var generator = new TextGenerator(loaded) { Warn = Console.Error.WriteLine };
            using var billed = billing.Prepare(p, model);
            int turn = 0;
            var history = new List<ChatMessage>();
            string? systemPrompt = p.GetValue(system);
            Console.Error.WriteLine($"chat template: {chat.Name}. Commands: /reset, /system TEXT, /adapter NAME|none, /exit");
            while (!ct.IsCancellationRequested)
            {
                Console.Error.Write("> ");
                var line = Console.ReadLine();
                if (line is null || line.Trim() == "/exit") break;
                if (line.Trim() == "/reset") { history.Clear(); continue; }
                if (line.StartsWith("/system ", StringComparison.Ordinal)) { systemPrompt = line[8..]; history.Clear(); continue; }
                if (line.StartsWith("/adapter ", StringComparison.Ordinal))
                {
                    var adapter = line[9..].Trim();
                    if (billed is not null)
                    {   // the fee and the attribution index belong to the adapter chosen on the command line
                        Console.Error.WriteLine("error: /adapter cannot switch adapters in a billed chat (use --use-adapter)");
                        continue;
                    }
                    try { adapters.Activate(adapter == "none" ? null : adapter); Console.Error.WriteLine($"using {adapter}"); }
                    catch (UserError e) { Console.Error.WriteLine($"error: {e.Message}" + (e.Hint is null ? "" : $" ({e.Hint})")); }
                    continue;
                }
                if (line.Trim().Length == 0) continue;
                history.Add(new ChatMessage(ChatRole.User, line));
                var messages = systemPrompt is null ? history : [new ChatMessage(ChatRole.System, systemPrompt), .. history];
                var prompt = chat.EncodePrompt(loaded.Tokenizer, messages);
                using var bill = billed?.Begin(prompt.Length, options.MaxNewTokens, ++turn);
                var result = generator.Generate([prompt], options, e => Console.Write(e.TextDelta), ct)[0];
                Console.WriteLine();
                if (bill is not null) BillingOptions.Report(bill.Complete(prompt.Length, result.TokenIds.Length, line, result.Text));
                history.Add(new ChatMessage(ChatRole.Assistant, result.Text));
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
