using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// The oracle for <c>--weights q8_0</c> decoding, on libtorch's fp32 forward. The prefill is plain fp32, as in the
/// engine; then, for the decode steps, every projection's and lm_head's weights are replaced by their Q8_0 values and
/// every projection's and lm_head's input by its Q8_0 values as ggml's x86 quantize_row_q8_0 makes them (restated
/// in <see cref="FakeQuantize"/>). Left-padded prompts, greedy. Shared with the CLI tests (linked source).
/// </summary>
internal sealed class Q8Reference : IDisposable
{
    private readonly PretrainedModel _model;
    private readonly KvCache _cache;
    private readonly Tensor _mask;
    private readonly Tensor _prompt;
    private readonly Box _on = new();

    public int Width { get; }

    public Q8Reference(string directory, int[][] prompts, int steps)
    {
        _model = PretrainedModel.Load(directory);
        var net = _model.Network;
        for (int l = 0; l < net.LayerCount; l++)
            foreach (var name in LlamaForCausalLM.ProjectionNames)
                net.ReplaceProjection(l, name, m => new QuantizedInput(m, _on));
        var c = _model.Config;
        Width = prompts.Max(p => p.Length);
        int total = Width + steps;
        var ids = new long[prompts.Length, Width];
        var mask = new long[prompts.Length, total];
        for (int r = 0; r < prompts.Length; r++)
            for (int i = 0; i < total; i++)
            {
                int offset = i - (Width - prompts[r].Length);
                if (i < Width) ids[r, i] = offset >= 0 ? prompts[r][offset] : 0;
                mask[r, i] = offset >= 0 ? 1 : 0;
            }
        _cache = new KvCache(c.NumHiddenLayers, prompts.Length, c.NumKeyValueHeads, c.HeadDim, total,
            ScalarType.Float32, CPU);
        (_mask, _prompt) = (tensor(mask).DetachFromDisposeScope(), tensor(ids).DetachFromDisposeScope());
    }

    /// <summary>The fp32 prefill's last logits [B, V].</summary>
    public Tensor Prefill()
    {
        _on.Value = false;
        var logits = _model.Network.Forward(_prompt, _mask.narrow(1, 0, Width), _cache, 0, lastOnly: true).squeeze(1);
        QuantizeWeights(_model);
        return logits;
    }

    /// <summary>Logits [B, V] after feeding <paramref name="next"/> at cache column <paramref name="column"/>.
    /// </summary>
    public Tensor Step(long[] next, int column)
    {
        _on.Value = true;
        var net = _model.Network;
        var hidden = net.Hidden(tensor(next, [next.Length, 1]), _mask.narrow(1, 0, column + 1), _cache, column);
        return FakeQuantize(hidden.squeeze(1)).matmul(net.LmHead.weight!.t());
    }

    /// <summary>The greedy ids (the prefill's pick, then <paramref name="steps"/> − 1 decode steps'), no EOS stop.
    /// </summary>
    public static long[][] Greedy(string directory, int[][] prompts, int steps)
    {
        using var reference = new Q8Reference(directory, prompts, steps);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var rows = prompts.Select(_ => new List<long>()).ToArray();
        var logits = reference.Prefill();
        for (int column = reference.Width; column < reference.Width + steps; column++)
        {
            var next = logits.argmax(-1).data<long>().ToArray();
            for (int r = 0; r < next.Length; r++) rows[r].Add(next[r]);
            if (column + 1 < reference.Width + steps) logits = reference.Step(next, column);
        }
        return rows.Select(r => r.ToArray()).ToArray();
    }

    /// <summary>The model with its weights replaced by their Q8_0 values (the weight quantizer, ties away from zero;
    /// Q8_0 of those values gives them back exactly, checked, so the engine's copy holds these weights).</summary>
    private static void QuantizeWeights(PretrainedModel model)
    {
        using var _ = no_grad();
        var net = model.Network;
        var linears = Enumerable.Range(0, net.LayerCount)
            .SelectMany(l => LlamaForCausalLM.ProjectionNames.Select(n => Plain(net.Projection(l, n))))
            .Append(net.LmHead);
        foreach (var weight in linears.Select(l => l.weight!))
        {
            var values = weight.data<float>().ToArray();
            var quantized = new float[values.Length];
            Q8_0.Dequantize(values, quantized);
            var again = new float[values.Length];
            Q8_0.Dequantize(quantized, again);
            if (!quantized.SequenceEqual(again)) throw new InvalidOperationException("Q8_0 is not idempotent here");
            weight.copy_(tensor(quantized, weight.shape));
        }
    }

    private static Linear Plain(nn.Module<Tensor, Tensor> m) => m is QuantizedInput q ? q.Inner : (Linear)m;

    /// <summary>ggml's activation rule, restated: per block of 32 (along the last dimension) amax, d = amax / 127 as
    /// f16, code round(x · (127 / amax)) with ties to even; the value is code · d.</summary>
    public static Tensor FakeQuantize(Tensor x)
    {
        var values = x.contiguous().data<float>().ToArray();
        for (int b = 0; b < values.Length; b += 32)
        {
            float amax = 0;
            for (int j = b; j < b + 32; j++) amax = Math.Max(amax, Math.Abs(values[j]));
            float id = amax == 0 ? 0 : 127f / amax, d = (float)(Half)(amax / 127f);
            for (int j = b; j < b + 32; j++) values[j] = (float)Math.Round(values[j] * id, MidpointRounding.ToEven) * d;
        }
        return tensor(values, x.shape);
    }

    private sealed class Box { public bool Value; }

    /// <summary>A projection whose input is fake-quantized while the switch is on.</summary>
    private sealed class QuantizedInput : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> _inner;
        private readonly Box _on;

        public Linear Inner => (Linear)_inner;

        public QuantizedInput(nn.Module<Tensor, Tensor> inner, Box on) : base("quantized_input")
        {
            (_inner, _on) = (inner, on);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => _inner.call(_on.Value ? FakeQuantize(x) : x);
    }

    public void Dispose()
    {
        _cache.Dispose();
        _mask.Dispose();
        _prompt.Dispose();
        _model.Dispose();
    }
}
