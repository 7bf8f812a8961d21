using System.CommandLine;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger quickstart</c>: the main job on the embedded default. For now: build a tiny model from the
/// bundled sample tokenizer in a workspace folder and generate from it; later stages add training and evaluation.</summary>
internal static class QuickstartCommand
{
    public static Command Create()
    {
        var workspace = new Option<string>("--workspace") { DefaultValueFactory = _ => "workspace", Description = "Folder for the artefacts" };
        var command = new Command("quickstart", "Run the main job end to end on the bundled sample data") { workspace };
        command.SetAction((p, ct) =>
        {
            var dir = Path.GetFullPath(p.GetValue(workspace)!);
            var modelDir = Path.Combine(dir, "base-model");
            var tokenizerDir = Path.Combine(AppContext.BaseDirectory, "samples", "tokenizer");
            if (!File.Exists(Path.Combine(modelDir, "model.safetensors")))
            {
                Console.Error.WriteLine($"[1/2] initialising a tiny Llama model in {modelDir}");
                RandomInit.Write(new ModelShape(LlamaArchitecture.Llama, 64, 2, 4, 2, 172, 512), tokenizerDir, modelDir, seed: 0);
            }
            else Console.Error.WriteLine($"[1/2] reusing the model in {modelDir}");
            using var model = PretrainedModel.Load(modelDir);
            Console.Error.WriteLine($"[2/2] generating 24 tokens (greedy) from the {model.Network.ParameterCount():N0}-parameter model");
            var prompt = GenerateCommand.PromptIds(model.Tokenizer, "Once upon a time");
            var result = new TextGenerator(model).Generate([prompt], new GenerationOptions { MaxNewTokens = 24 }, cancellation: ct)[0];
            Console.WriteLine($"Once upon a time{result.Text}");
            Console.Error.WriteLine();
            Console.Error.WriteLine("The model is untrained, so the text is noise. Next:");
            Console.Error.WriteLine($"  ./mledger info --model {modelDir}");
            Console.Error.WriteLine($"  ./mledger chat --model {modelDir}");
            Console.Error.WriteLine($"  ./mledger bench generate --model {modelDir}");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
