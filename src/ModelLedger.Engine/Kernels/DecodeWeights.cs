using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>A plain Linear read in place: W [Rows, Cols] row-major and an optional bias, fp32; with
/// <see cref="Q8"/> or <see cref="Nf4"/> set the decode step reads that quantized copy instead of W.</summary>
internal readonly unsafe struct LinearWeights(float* w, float* bias, int rows, int cols, Q8Weights? q8 = null,
    Nf4Weights? nf4 = null)
{
    public readonly float* W = w, Bias = bias;
    public readonly int Rows = rows, Cols = cols;
    public readonly Q8Weights? Q8 = q8;
    public readonly Nf4Weights? Nf4 = nf4;
}

/// <summary>One decoder layer's weights for the C# decode step.</summary>
internal sealed unsafe class LayerWeights(LinearWeights q, LinearWeights k, LinearWeights v, LinearWeights o,
    LinearWeights gate, LinearWeights up, LinearWeights down, float* inputNorm, float* postNorm)
{
    public readonly LinearWeights Q = q, K = k, V = v, O = o, Gate = gate, Up = up, Down = down;
    public readonly float* InputNorm = inputNorm, PostNorm = postNorm;
}

/// <summary>
/// Pointers to the weights of a loaded model, gathered when every piece qualifies for the C# decode step: CPU, fp32,
/// contiguous, every projection a plain Linear (LoRA, quantized bases, attribution hooks and P-Tuning prefixes keep
/// the libtorch path). The pointers are only valid while the model's parameters live: <see cref="Tensors"/> holds
/// them, and callers keep this object referenced until native reads end.
/// </summary>
internal sealed unsafe class DecodeWeights
{
    public required LayerWeights[] Layers { get; init; }
    public required float* Embedding { get; init; }
    public required LinearWeights LmHead { get; init; }
    public required float* FinalNorm { get; init; }
    public required float Eps { get; init; }
    public required float* Cos { get; init; }
    public required float* Sin { get; init; }
    public required List<Tensor> Tensors { get; init; }

    /// <summary>Some projection reads a Q8_0 copy: the step quantizes those projections' inputs.</summary>
    public bool Quantized => LmHead.Q8 is not null
        || Layers.Any(l => new[] { l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down }.Any(p => p.Q8 is not null));

    /// <summary>The weights, or null when something needs the libtorch path. <paramref name="positions"/>: the
    /// rotary table must cover them. <paramref name="quantization"/> Q8_0: each projection and lm_head also gets
    /// an int8 copy (<see cref="Q8Weights"/>; NF4: <see cref="Nf4Weights"/>), kept with the model in
    /// <see cref="QuantizedCopies"/> and made again only when the weights changed, that the step reads instead.
    /// </summary>
    public static DecodeWeights? Gather(LlamaForCausalLM net, long positions,
        WeightQuantization quantization = WeightQuantization.None)
    {
        if (net.Device.type != TorchSharp.DeviceType.CPU || net.DType != ScalarType.Float32 || net.Prefix is not null)
            return null;
        var kept = new List<Tensor>();
        var cache = quantization != WeightQuantization.None ? QuantizedCopies.For(net) : null;
        var live = new HashSet<nint>();
        float* Vector(Tensor? t, long length)
        {
            if (t is null) return null;
            if (t.dtype != ScalarType.Float32 || t.dim() != 1 || t.shape[0] != length || !t.is_contiguous())
                throw new NotSupportedException();
            kept.Add(t);
            return TensorData.Pointer<float>(t);
        }
        LinearWeights Plain(nn.Module<Tensor, Tensor> module)
        {
            if (module is not Linear linear || linear.weight is not { } w || w.dtype != ScalarType.Float32
                || w.dim() != 2 || !w.is_contiguous()) throw new NotSupportedException();
            kept.Add(w);
            float* data = TensorData.Pointer<float>(w);
            int rows = (int)w.shape[0], cols = (int)w.shape[1];
            Q8Weights? q8 = null;
            Nf4Weights? nf4 = null;
            if (cache is not null) live.Add((nint)data);
            if (quantization == WeightQuantization.Q8_0)
                q8 = cache!.Get(data, rows, cols, quantization, () => Q8Weights.Quantize(data, rows, cols));
            else if (quantization == WeightQuantization.Nf4)
                nf4 = cache!.Get(data, rows, cols, quantization, () => Nf4Weights.Quantize(w));
            return new LinearWeights(data, Vector(linear.bias, w.shape[0]), rows, cols, q8, nf4);
        }
        try
        {
            var c = net.Config;
            var layers = new LayerWeights[c.NumHiddenLayers];
            for (int i = 0; i < layers.Length; i++)
            {
                var layer = net.Layer(i);
                LinearWeights P(string name) => Plain(layer.Projection(name));
                layers[i] = new LayerWeights(P("q_proj"), P("k_proj"), P("v_proj"), P("o_proj"), P("gate_proj"),
                    P("up_proj"), P("down_proj"), Vector(layer.InputNorm.Weight, c.HiddenSize),
                    Vector(layer.PostNorm.Weight, c.HiddenSize));
            }
            var embedding = net.Backbone.EmbedTokens.weight!;
            if (embedding.dtype != ScalarType.Float32 || !embedding.is_contiguous()) return null;
            kept.Add(embedding);
            var (cos, sin) = net.RotaryTable(positions);
            kept.Add(cos);
            kept.Add(sin);
            var lmHead = Plain(net.LmHead);
            cache?.Retain(live);
            return new DecodeWeights
            {
                Layers = layers, Embedding = TensorData.Pointer<float>(embedding), LmHead = lmHead,
                FinalNorm = Vector(net.Backbone.Norm.Weight, c.HiddenSize), Eps = (float)net.Backbone.Norm.Eps,
                Cos = TensorData.Pointer<float>(cos), Sin = TensorData.Pointer<float>(sin), Tensors = kept,
            };
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }
}
