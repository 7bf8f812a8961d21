using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelLedger.Engine.Generation;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger generate</c>: continue a prompt; streams text, or prints one JSON object with --json.</summary>
internal static class GenerateCommand
{
    private sealed record Output(
        [property: JsonPropertyName("prompt_ids")] int[] PromptIds,
        [property: JsonPropertyName("token_ids")] int[] TokenIds,
        [property: JsonPropertyName("text")] string Text,
        [property: JsonPropertyName("finish_reason")] string FinishReason);

    public static Command Create()
    {
        var model = new ModelOptions();
        var sampling = new SamplingOptions();
        var billing = new BillingOptions();
        var prompt = new Option<string>("--prompt") { DefaultValueFactory = _ => "", Description = "Prompt text; empty starts from BOS alone" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object {prompt_ids, token_ids, text} on stdout" };
        var command = new Command("generate", "Generate text from a prompt") { prompt, json };
        command.With(model.All).With(sampling.All).With(billing.All);
        command.SetAction((p, ct) =>
        {
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            var options = sampling.Build(p, loaded.Directory);
            var promptIds = PromptIds(loaded.Tokenizer, p.GetValue(prompt) ?? "");
            using var billed = billing.Prepare(p, model);
            using var bill = billed?.Begin(promptIds.Length, options.MaxNewTokens);
            bool asJson = p.GetValue(json);
            if (!asJson) Console.Write(p.GetValue(prompt));
            var result = new TextGenerator(loaded) { Warn = Console.Error.WriteLine }.Generate([promptIds], options,
                asJson ? null : e => Console.Write(e.TextDelta), ct)[0];
            if (bill is not null)
                BillingOptions.Report(bill.Complete(result.PromptIds.Length, result.TokenIds.Length,
                    p.GetValue(prompt) ?? "", result.Text));
            if (asJson)
                Console.WriteLine(JsonSerializer.Serialize(new Output(result.PromptIds, result.TokenIds, result.Text,
                    result.FinishReason.ToString().ToLowerInvariant())));
            else Console.WriteLine();
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>Prompt ids with the tokenizer's special tokens (BOS); an empty prompt is BOS alone.</summary>
    internal static int[] PromptIds(Engine.Tokenization.TextTokenizer tokenizer, string prompt) =>
        Tuning.Serving.ServingPrompts.TextIds(tokenizer, prompt);
}
