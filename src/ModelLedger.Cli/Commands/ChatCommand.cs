using System.CommandLine;
using ModelLedger.Data.Chat;
using ModelLedger.Engine.Generation;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger chat</c>: an interactive terminal chat with the model's chat template, streaming replies.
/// Lines starting with / are commands: /reset, /system TEXT, /exit.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var sampling = new SamplingOptions();
        var template = new Option<string?>("--template") { Description = $"Chat format: {string.Join(", ", ChatTemplate.Known.Keys)} (default: from tokenizer_config.json)" };
        var system = new Option<string?>("--system") { Description = "System prompt" };
        var command = new Command("chat", "Chat with a model in the terminal") { template, system };
        command.With(model.All).With(sampling.All);
        command.SetAction((p, ct) =>
        {
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            var chat = p.GetValue(template) is string name ? ChatTemplate.Named(name) : ChatTemplate.Detect(loaded.Tokenizer);
            var options = sampling.Build(p, loaded.Directory) with { StopTokenIds = chat.StopTokenIds(loaded.Tokenizer) };
            var generator = new TextGenerator(loaded) { Warn = Console.Error.WriteLine };
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
                    try { adapters.Activate(adapter == "none" ? null : adapter); Console.Error.WriteLine($"using {adapter}"); }
                    catch (UserError e) { Console.Error.WriteLine($"error: {e.Message}" + (e.Hint is null ? "" : $" ({e.Hint})")); }
                    continue;
                }
                if (line.Trim().Length == 0) continue;
                history.Add(new ChatMessage(ChatRole.User, line));
                var messages = systemPrompt is null ? history : [new ChatMessage(ChatRole.System, systemPrompt), .. history];
                var prompt = chat.EncodePrompt(loaded.Tokenizer, messages);
                var result = generator.Generate([prompt], options, e => Console.Write(e.TextDelta), ct)[0];
                Console.WriteLine();
                history.Add(new ChatMessage(ChatRole.Assistant, result.Text));
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
