using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;
using ModelLedger.Tuning.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Training;

/// <summary>
/// A loaded base model prepared for one fine-tuning method: which parameters train (full, the last N layers, LoRA on
/// a full or 4/8-bit base, or a P-Tuning v2 prefix), how they are saved as the run's output, and how they round-trip
/// through checkpoints. Owns the prefix encoder; the base model is the caller's.
/// </summary>
internal sealed class TunableModel : IDisposable
{
    public const string AdapterName = "default";

    public PretrainedModel Model { get; }
    public TrainConfig Config { get; }
    public LoraSettings? Lora { get; }
    public PrefixEncoder? Prefix { get; }
    public IReadOnlyList<(string Name, Parameter Param)> Trainable { get; }

    private TunableModel(PretrainedModel model, TrainConfig config, LoraSettings? lora, PrefixEncoder? prefix)
    {
        (Model, Config, Lora, Prefix) = (model, config, lora, prefix);
        // Tied lm_head and embedding are one tensor listed under two names: train (and step AdamW on) it once.
        bool tied = model.Config.TieWordEmbeddings;
        var trainable = model.Network.named_parameters().Where(p => p.parameter.requires_grad && !(tied && p.name == "lm_head.weight")).ToList();
        if (prefix is not null) trainable.AddRange(prefix.named_parameters().Select(p => ($"prefix.{p.name}", p.parameter)));
        Trainable = trainable;
    }

    public static TunableModel Prepare(PretrainedModel model, TrainConfig config)
    {
        var network = model.Network;
        network.GradientCheckpointing = config.GradientCheckpointing;
        foreach (var p in network.parameters()) p.requires_grad = false;
        LoraSettings? lora = null;
        PrefixEncoder? prefix = null;
        switch (config.FinetuningType)
        {
            case FinetuningType.Full:
                foreach (var p in network.parameters()) p.requires_grad = true;
                break;
            case FinetuningType.Freeze:
                int n = config.FreezeTrainableLayers, layers = network.LayerCount;
                if (n == 0 || Math.Abs(n) > layers)
                    throw new UserError($"must be between 1 and {layers} (or -{layers}..-1 for the first layers), got {n}", field: "freeze_trainable_layers");
                var chosen = n > 0 ? Enumerable.Range(layers - n, n) : Enumerable.Range(0, -n);
                foreach (var i in chosen) foreach (var p in network.LayerParameters(i)) p.requires_grad = true;
                break;
            case FinetuningType.Lora:
                if (config.QuantizationBit is int bits) Quantize(model, bits, config.QuantizationType, config.DoubleQuantization);
                lora = new LoraSettings(config.LoraRank, config.LoraAlpha, config.LoraDropout, LoraSettings.ParseTargets(config.LoraTarget), config.UseRslora);
                if (config.AdapterNameOrPath is string existing)
                {
                    lora = PeftLoraFiles.Load(network, existing, AdapterName) with { Dropout = config.LoraDropout };
                    foreach (var (_, layer) in LoraInjector.Find(network)) layer.Adapters[AdapterName].Dropout.p = config.LoraDropout;
                }
                else LoraInjector.Attach(network, AdapterName, lora);
                foreach (var (_, layer) in LoraInjector.Find(network))
                {
                    var pair = layer.Adapters[AdapterName];
                    pair.A.weight!.requires_grad = true;
                    pair.B.weight!.requires_grad = true;
                }
                break;
            case FinetuningType.Ptuning:
                prefix = new PrefixEncoder(model.Config, config.PreSeqLen, config.PrefixProjection, network.Device, ScalarType.Float32);
                network.Prefix = prefix.KeyValues;
                break;
        }
        return new TunableModel(model, config, lora, prefix);
    }

    /// <summary>How <see cref="PretrainedModel.Load"/> builds the decoder projections for this run: for QLoRA,
    /// quantized one by one as they are read, so the full-precision base never exists whole (null: as Linear).
    /// </summary>
    public static PretrainedModel.ProjectionLoader? ProjectionLoaderFor(TrainConfig config) =>
        config.FinetuningType == FinetuningType.Lora && config.QuantizationBit is int bits
            ? Quantizer(bits, config.QuantizationType, config.DoubleQuantization)
            : null;

    /// <summary>A frozen projection's 4-bit (NF4/FP4) or 8-bit stored form, from its weight and bias.</summary>
    internal static PretrainedModel.ProjectionLoader Quantizer(int bits, QuantizationType type, bool doubleQuantization)
    {
        var codebook = type == QuantizationType.Fp4 ? FourBitCodebooks.Fp4 : FourBitCodebooks.Nf4;
        return (weight, bias) => bits == 4
            ? new Nf4Linear(weight, bias, codebook, doubleQuantization)
            : new Int8Linear(weight, bias);
    }

    /// <summary>Replaces every decoder projection of a loaded model that is still a Linear with its quantized form
    /// (<see cref="Quantizer"/>); projections quantized while loading stay as they are.</summary>
    internal static void Quantize(PretrainedModel model, int bits, QuantizationType type, bool doubleQuantization)
    {
        var quantizer = Quantizer(bits, type, doubleQuantization);
        for (int i = 0; i < model.Network.LayerCount; i++)
        {
            foreach (var name in LoraSettings.AllTargets)
            {
                Func<Module<Tensor, Tensor>, Module<Tensor, Tensor>> quantize = current =>
                {
                    if (current is not Linear linear) return current;
                    var q = quantizer(linear.weight!, linear.bias);
                    linear.Dispose();
                    return q;
                };
                model.Network.ReplaceProjection(i, name, quantize);
            }
        }
    }

    public long TrainableCount => Trainable.Sum(p => p.Param.numel());
    /// <summary>All parameters, quantized ones counted by their logical shape, LoRA and prefix ones included.</summary>
    public long TotalCount => Model.Network.ParameterCount() + (Prefix?.parameters().Sum(p => p.numel()) ?? 0)
        + Model.Network.modules().OfType<IFrozenLinear>().Sum(q => q.InFeatures * q.OutFeatures + (q.Bias?.numel() ?? 0));

    /// <summary>Bytes the frozen and trainable weights occupy as stored (quantized layers at their packed size).</summary>
    public long StoredWeightBytes()
    {
        long bytes = 0;
        foreach (var (_, p) in Model.Network.CheckpointTensors()) bytes += p.numel() * p.element_size();
        foreach (var m in Model.Network.modules().OfType<IFrozenLinear>()) bytes += m.StoredBytes;
        return bytes;
    }

    /// <summary>Writes the run's result: a PEFT adapter (LoRA, prefix) or a full HF checkpoint (full, freeze).</summary>
    public void SaveOutput(string directory)
    {
        var baseDir = Model.Directory;
        switch (Config.FinetuningType)
        {
            case FinetuningType.Lora:
                PeftLoraFiles.Save(Model.Network, AdapterName, Lora!, baseDir, directory);
                CopyTokenizer(baseDir, directory);
                break;
            case FinetuningType.Ptuning:
                PeftPrefixFiles.Save(Prefix!, Model.Config, baseDir, directory);
                CopyTokenizer(baseDir, directory);
                break;
            default:
                PretrainedModel.Save(Model.Network, baseDir, directory);
                break;
        }
    }

    private static void CopyTokenizer(string from, string to)
    {
        foreach (var file in PretrainedModel.TokenizerFiles)
            if (File.Exists(Path.Combine(from, file))) File.Copy(Path.Combine(from, file), Path.Combine(to, file), overwrite: true);
    }

    public void Dispose() => Prefix?.Dispose();
}
