using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Adapters;

namespace ModelLedger.Tuning.Serving;

/// <summary>Random adapters on the tiny model, and the independent reference for what serving must produce: each
/// request run alone through <see cref="AdapterSet"/> (LoRA wrappers with an active adapter, the prefix hook) and
/// <see cref="TextGenerator"/>, on a model instance of its own.</summary>
public sealed class ServingFixture : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly PretrainedModel _reference = PretrainedModel.Load(TestPaths.TinyStories);
    private readonly AdapterSet _adapters;
    private readonly Lock _lock = new();

    public string LoraA { get; }
    public string LoraB { get; }
    public string LoraC { get; }
    /// <summary>Rank 2 on q and v only: slots padded to a larger rank, projections it does not target.</summary>
    public string LoraNarrow { get; }
    public string Prefix { get; }

    public ServingFixture()
    {
        var c = _reference.Config;
        LoraA = _dir.Sub("lora-a");
        RandomAdapters.WriteLora(c, LoraA, rank: 4, seed: 1);
        LoraB = _dir.Sub("lora-b");
        RandomAdapters.WriteLora(c, LoraB, rank: 8, seed: 2);
        LoraC = _dir.Sub("lora-c");
        RandomAdapters.WriteLora(c, LoraC, rank: 4, seed: 3);
        LoraNarrow = _dir.Sub("lora-narrow");
        RandomAdapters.WriteLora(c, LoraNarrow, rank: 2, seed: 4, strength: 1.0, targets: ["q_proj", "v_proj"]);
        Prefix = _dir.Sub("prefix");
        RandomAdapters.WritePrefix(c, Prefix, length: 5, seed: 5);
        _adapters = new AdapterSet(_reference);
        foreach (var dir in new[] { LoraA, LoraB, LoraC, LoraNarrow, Prefix }) _adapters.Load(dir, dir);
    }

    public int[] Prompt(string text) => _reference.Tokenizer.Encode(text, addSpecialTokens: true);

    /// <summary>The tokens and text of one request generated alone by the reference path.</summary>
    public GenerationResult Alone(int[] prompt, string? adapter, GenerationOptions options)
    {
        lock (_lock)
        {
            _adapters.Activate(adapter);
            return new TextGenerator(_reference).Generate([prompt], options)[0];
        }
    }

    public void Dispose()
    {
        _adapters.Dispose();
        _reference.Dispose();
        _dir.Dispose();
    }
}
