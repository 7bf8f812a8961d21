using System.CommandLine;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Quantization;
using ModelLedger.Engine.Runtime;
using ModelLedger.Tuning.Adapters;

namespace ModelLedger.Cli;

/// <summary>Options shared by the verbs that load a model; parsed here once into engine types.</summary>
internal sealed class ModelOptions
{
    public readonly Option<string> Model = new("--model") { Required = true, Description = "HF model directory (config.json, model.safetensors, tokenizer.json)" };
    public readonly Option<string> Device = new("--device") { DefaultValueFactory = _ => "cpu", Description = "cpu or cuda" };
    public readonly Option<string> DType = new("--dtype") { DefaultValueFactory = _ => "float32", Description = "float32, bfloat16 or float16" };

    public readonly Option<string[]> Adapters = new("--adapter") { Description = "PEFT adapter directory, or NAME=DIR (repeatable; the last is active)" };
    public readonly Option<string?> UseAdapter = new("--use-adapter") { Description = "Which loaded adapter to use (a NAME, or none for the base model)" };

    public IEnumerable<Option> All => [Model, Device, DType, Adapters, UseAdapter];

    /// <summary>The model with its adapters loaded and the chosen one active. Dispose both (the adapters first).</summary>
    public (PretrainedModel Model, AdapterSet Adapters) Load(ParseResult p)
    {
        var model = PretrainedModel.Load(p.GetValue(Model)!, TorchRuntime.ParseDevice(p.GetValue(Device)!), TorchRuntime.ParseDType(p.GetValue(DType)!));
        var adapters = new AdapterSet(model);
        try
        {
            foreach (var spec in p.GetValue(Adapters) ?? [])
            {
                int eq = spec.IndexOf('=', StringComparison.Ordinal);
                var (name, dir) = eq > 0 ? (spec[..eq], spec[(eq + 1)..]) : (Path.GetFileName(Path.TrimEndingDirectorySeparator(spec)), spec);
                adapters.Load(dir, name);
            }
            if (p.GetValue(UseAdapter) is string use) adapters.Activate(use == "none" ? null : use);
        }
        catch
        {
            adapters.Dispose();
            model.Dispose();
            throw;
        }
        return (model, adapters);
    }
}

/// <summary>Sampling flags; unset flags fall back to the model's generation_config.json.</summary>
internal sealed class SamplingOptions
{
    public readonly Option<int?> MaxNewTokens = new("--max-new-tokens") { Description = "Most tokens to generate" };
    public readonly Option<double?> Temperature = new("--temperature") { Description = "0 = greedy" };
    public readonly Option<double?> TopP = new("--top-p") { Description = "Nucleus sampling mass (0, 1]" };
    public readonly Option<int?> TopK = new("--top-k") { Description = "Keep the k most likely tokens (0 = off)" };
    public readonly Option<double?> RepetitionPenalty = new("--repetition-penalty") { Description = "> 1 discourages repeats" };
    public readonly Option<long?> Seed = new("--seed") { Description = "Seed for sampling" };
    public readonly Option<string[]> Stop = new("--stop") { Description = "Stop string (repeatable)", AllowMultipleArgumentsPerToken = false };

    public readonly Option<string> Weights = new("--weights")
    {
        DefaultValueFactory = _ => "f32",
        Description = "Weights the decode steps read: f32, q8_0 (llama.cpp's int8 blocks, int8 activations) or nf4 "
            + "(QLoRA's 4-bit blocks); CPU fp32 models",
    };

    public IEnumerable<Option> All => [MaxNewTokens, Temperature, TopP, TopK, RepetitionPenalty, Seed, Stop, Weights];

    public GenerationOptions Build(ParseResult p, string modelDirectory)
    {
        var d = GenerationDefaults.Load(modelDirectory);
        return d with
        {
            MaxNewTokens = p.GetValue(MaxNewTokens) ?? d.MaxNewTokens,
            Temperature = p.GetValue(Temperature) ?? d.Temperature,
            TopP = p.GetValue(TopP) ?? d.TopP,
            TopK = p.GetValue(TopK) ?? d.TopK,
            RepetitionPenalty = p.GetValue(RepetitionPenalty) ?? d.RepetitionPenalty,
            Seed = p.GetValue(Seed) ?? d.Seed,
            StopStrings = p.GetValue(Stop) ?? [],
            Weights = WeightQuantizations.Parse(p.GetValue(Weights)!, "--weights"),
        };
    }
}

internal static class CommandExtensions
{
    public static Command With(this Command command, IEnumerable<Option> options)
    {
        foreach (var o in options) command.Options.Add(o);
        return command;
    }
}
