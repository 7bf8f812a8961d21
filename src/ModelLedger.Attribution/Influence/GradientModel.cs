using ModelLedger.Data.Datasets;
using ModelLedger.Data.Chat;
using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Data;
using ModelLedger.Tuning.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

public enum AdapterKind { Lora, Prefix }

/// <summary>
/// A base model with a PEFT adapter (LoRA on a full or 4/8-bit base, or a P-Tuning v2 prefix) whose trainable weights
/// can be set to any checkpoint of its training run, answering per-example losses and gradients of those weights only.
/// For LoRA the gradient of a layer is the r·(d_in + d_out) numbers of its factors A and B, never the d_in·d_out
/// matrix of ΔW. The base model is the caller's; this owns the prefix encoder and the copies of the final weights.
/// Not thread-safe (one forward at a time on the network).
/// </summary>
internal sealed class GradientModel : IDisposable
{
    private readonly PretrainedModel _model;
    private readonly string _adapterDir;
    private readonly Dictionary<string, Tensor> _final = new(StringComparer.Ordinal);
    private List<(string Name, Parameter Param)> _trainable = [];
    private PrefixEncoder? _prefix;
    private (int Length, bool Projected) _prefixShape;

    public AdapterKind Kind { get; }
    public PretrainedModel Model => _model;

    /// <summary>Trainable coordinates at the current checkpoint (a prefix with projection has more mid-run than in
    /// its saved table form).</summary>
    public long ParameterCount => _trainable.Sum(p => p.Param.numel());

    private GradientModel(PretrainedModel model, string adapterDir, AdapterKind kind) => (_model, _adapterDir, Kind) = (model, adapterDir, kind);

    /// <summary>Attaches the adapter in <paramref name="adapterDir"/>; with <paramref name="quantizationBit"/> the base
    /// is first quantized as the QLoRA run that trained it was (gradients then match the ones training saw).</summary>
    public static GradientModel Attach(PretrainedModel model, string adapterDir, int? quantizationBit)
    {
        if (!Directory.Exists(adapterDir)) throw new UserError("adapter directory not found", file: adapterDir);
        foreach (var p in model.Network.parameters()) p.requires_grad = false;
        model.Network.eval();   // no dropout: a gradient must be a function of the example and the weights alone
        if (PeftPrefixFiles.IsPrefix(adapterDir))
        {
            var g = new GradientModel(model, adapterDir, AdapterKind.Prefix);
            var config = PeftLoraFiles.ReadConfig(adapterDir)!;
            g._prefixShape = (config["num_virtual_tokens"]!.GetValue<int>(), config["prefix_projection"]?.GetValue<bool>() ?? false);
            g.UseFinal();
            return g;
        }
        if (quantizationBit is int bits) TunableModel.Quantize(model, bits, QuantizationType.Nf4, doubleQuantization: true);
        PeftLoraFiles.Load(model.Network, adapterDir, TunableModel.AdapterName);
        var lora = new GradientModel(model, adapterDir, AdapterKind.Lora);
        foreach (var (name, p) in model.Network.named_parameters())
        {
            if (!name.Contains(".lora_", StringComparison.Ordinal)) continue;
            p.requires_grad = true;
            lora._trainable.Add((name, p));
            using var detached = p.detach();   // held while clone reads it
            lora._final[name] = detached.clone().DetachFromDisposeScope();
        }
        return lora;
    }

    /// <summary>Sets the trainable weights to a training checkpoint's (checkpoint-N/trainable.safetensors), or to the
    /// saved adapter when <paramref name="checkpointDir"/> is null.</summary>
    public void Use(string? checkpointDir)
    {
        if (checkpointDir is null) { UseFinal(); return; }
        var path = Path.Combine(checkpointDir, "trainable.safetensors");
        var file = SafetensorsFile.Open(path);
        if (Kind == AdapterKind.Prefix)
        {
            SetPrefix(new PrefixEncoder(_model.Config, _prefixShape.Length, _prefixShape.Projected, _model.Network.Device, ScalarType.Float32));
            _trainable = _prefix!.named_parameters().Select(p => ($"prefix.{p.name}", p.parameter)).ToList();
        }
        using var _ = no_grad();
        foreach (var (name, p) in _trainable)
        {
            if (!file.Entries.ContainsKey(name))
                throw new UserError($"checkpoint has no tensor '{name}'", file: path, hint: "the checkpoint belongs to a different adapter or method");
            using var t = file.Read(name);
            if (!t.shape.SequenceEqual(p.shape)) throw new UserError($"tensor '{name}' has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", p.shape)}]", file: path);
            p.copy_(t);
        }
    }

    private void UseFinal()
    {
        if (Kind == AdapterKind.Lora)
        {
            using var _ = no_grad();
            foreach (var (name, p) in _trainable) p.copy_(_final[name]);
            return;
        }
        SetPrefix(PeftPrefixFiles.Load(_model.Config, _adapterDir, _model.Network.Device, ScalarType.Float32));
        _trainable = _prefix!.named_parameters().Select(p => ($"prefix.{p.name}", p.parameter)).ToList();
    }

    private void SetPrefix(PrefixEncoder encoder)
    {
        _prefix?.Dispose();
        _prefix = encoder;
        foreach (var p in encoder.parameters()) p.requires_grad = true;
        _model.Network.Prefix = encoder.KeyValues;
    }

    /// <summary>Mean next-token cross-entropy over the labelled positions, as the trainer computes it for one sample.</summary>
    public Tensor LossTensor(EncodedSample sample)
    {
        var device = _model.Network.Device;
        long length = sample.Length;
        var ids = tensor(sample.Ids.Select(i => (long)i).ToArray(), [1, length], device: device);
        var labels = tensor(sample.Labels.Select(i => (long)i).ToArray(), [1, length], device: device);
        var logits = _model.Network.TrainingLogits(ids, null, null);   // [1, T, V]
        var predicted = logits.narrow(1, 0, length - 1).reshape(-1, logits.shape[2]).to(ScalarType.Float32);
        var targets = labels.narrow(1, 1, length - 1).reshape(-1);
        return nn.functional.cross_entropy(predicted, targets, ignore_index: EncodedSample.Ignore);
    }

    public double Loss(EncodedSample sample)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return LossTensor(sample).item<float>();
    }

    /// <summary>The gradient of the sample's loss with respect to the trainable weights, flattened [D] float32 in a
    /// fixed order. The caller owns the returned tensor.</summary>
    public Tensor Gradient(EncodedSample sample)
    {
        using var scope = NewDisposeScope();
        foreach (var (_, p) in _trainable) p.grad?.zero_();
        Engine.Runtime.Backward.Run(LossTensor(sample));
        var flat = cat(_trainable.Select(p => p.Param.grad is { } g ? g.reshape(-1) : zeros(p.Param.numel(), device: p.Param.device)).ToList());
        return flat.to(ScalarType.Float32).detach().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _model.Network.Prefix = null;
        _prefix?.Dispose();
        foreach (var t in _final.Values) t.Dispose();
    }
}
