using System.CommandLine;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Runtime;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger init-model</c>: a fresh randomly initialised checkpoint in HF format.</summary>
internal static class InitModelCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { DefaultValueFactory = _ => "llama", Description = "llama, mistral or qwen2" };
        var hidden = new Option<int>("--hidden-size") { Required = true };
        var layers = new Option<int>("--layers") { Required = true };
        var heads = new Option<int>("--heads") { Required = true };
        var kvHeads = new Option<int?>("--kv-heads") { Description = "Key/value heads (GQA); default = --heads" };
        var intermediate = new Option<int>("--intermediate-size") { Required = true };
        var maxPositions = new Option<int>("--max-position-embeddings") { DefaultValueFactory = _ => 2048 };
        var vocabSize = new Option<int?>("--vocab-size") { Description = "Embedding rows (≥ the tokenizer's vocabulary; default: equal)" };
        var untied = new Option<bool>("--untie-embeddings") { Description = "Store a separate lm_head (default: tied)" };
        var vocabFrom = new Option<string>("--vocab-from") { Required = true, Description = "Directory with tokenizer.json (and its configs)" };
        var output = new Option<string>("--out") { Required = true, Description = "Directory to write" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var dtype = new Option<string>("--dtype") { DefaultValueFactory = _ => "float32" };
        var overwrite = new Option<bool>("--overwrite")
            { Description = "Write into a non-empty --out (replaces files of the same name)" };
        var command = new Command("init-model", "Write a randomly initialised Llama-family checkpoint (HF format)")
        {
            arch, hidden, layers, heads, kvHeads, intermediate, maxPositions, vocabSize, untied, vocabFrom, output,
            seed, dtype, overwrite,
        };
        command.SetAction((p, _) =>
        {
            var architecture = p.GetValue(arch)!.ToLowerInvariant() switch
            {
                "llama" => LlamaArchitecture.Llama,
                "mistral" => LlamaArchitecture.Mistral,
                "qwen2" => LlamaArchitecture.Qwen2,
                var other => throw new UserError($"unknown architecture '{other}'", field: "--arch", hint: "use llama, mistral or qwen2"),
            };
            var shape = new ModelShape(architecture, p.GetValue(hidden), p.GetValue(layers), p.GetValue(heads),
                p.GetValue(kvHeads) ?? p.GetValue(heads), p.GetValue(intermediate), p.GetValue(maxPositions), TieWordEmbeddings: !p.GetValue(untied), VocabSize: p.GetValue(vocabSize));
            var outDir = p.GetValue(output)!;
            var config = RandomInit.Write(shape, p.GetValue(vocabFrom)!, outDir, p.GetValue(seed),
                TorchRuntime.ParseDType(p.GetValue(dtype)!), p.GetValue(overwrite));
            Console.Error.WriteLine($"wrote {config.Architecture} model ({config.NumHiddenLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}) to {outDir}");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
