using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Tuning.Data;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

/// <summary>
/// Answers attribution queries against a loaded index: the query's gradient at each indexed checkpoint, projected
/// with the same CountSketch, scores every training example with TracIn-CP,
/// score_i = Σ_c η_c · g_{i,c}ᵀ M_c q_c, where M_c = I (plain) or the damped inverse Fisher (DataInf-style).
/// Positive scores are proponents: a gradient step on example i lowered the query's loss. Owns the model, the
/// index and the projections; one query at a time.
/// </summary>
public sealed class InfluenceAttributor : IDisposable
{
    private readonly PretrainedModel _model;
    private readonly GradientModel _gradients;
    private readonly List<CountSketch> _projections;
    private readonly ChatTemplate _template;

    public GradientIndex Index { get; }

    private InfluenceAttributor(GradientIndex index, PretrainedModel model, GradientModel gradients)
    {
        (Index, _model, _gradients) = (index, model, gradients);
        _template = ChatTemplate.Named(index.Manifest.Template);
        var device = model.Network.Device;
        _projections = index.Manifest.Checkpoints.Select(c => new CountSketch(c.Parameters, index.Manifest.Dims, index.Manifest.Seed, device)).ToList();
    }

    /// <summary>Loads the index and the model it was built for. <paramref name="baseModel"/> and
    /// <paramref name="adapter"/> default to the ones the index names.</summary>
    public static InfluenceAttributor Open(string indexDir, string? baseModel = null, string? adapter = null, string device = "cpu")
    {
        var index = GradientIndex.Load(indexDir);
        PretrainedModel? model = null;
        try
        {
            model = PretrainedModel.Load(baseModel ?? index.Manifest.BaseModel, TorchRuntime.ParseDevice(device));
            var gradients = GradientModel.Attach(model, adapter ?? index.Manifest.Adapter, index.Manifest.QuantizationBit);
            return new InfluenceAttributor(index, model, gradients);
        }
        catch
        {
            model?.Dispose();
            index.Dispose();
            throw;
        }
    }

    public static string MethodName(bool fisher) => fisher ? "tracin-cp+fisher" : "tracin-cp";

    /// <summary>Attributes <paramref name="response"/> (greedy from the adapter when null) to the training data.</summary>
    public AttributionResult Attribute(string prompt, string? response, int top, bool fisher, int maxNewTokens = 64)
    {
        if (top < 0) throw new UserError($"must be ≥ 0 (got {top})", field: "--top");
        if (string.IsNullOrWhiteSpace(prompt)) throw new UserError("is empty", field: "--prompt");
        response ??= Generate(prompt, maxNewTokens);
        var scores = Scores(Encode(prompt, response), fisher);
        var owners = Index.Owners;
        var best = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).Take(top)
            .Select(i => new ExampleScore(owners[i].Item, owners[i].Contributor, scores[i])).ToList();
        return new AttributionResult(MethodName(fisher), response, best, ContributorShares.From(owners, scores));
    }

    /// <summary>The query as a training sample: prompt and response through the index's template, loss on the response.</summary>
    public EncodedSample Encode(string prompt, string response)
    {
        var example = new Example("query", 1, [new ChatMessage(ChatRole.User, prompt), new ChatMessage(ChatRole.Assistant, response)]);
        var (encoded, cut) = SampleEncoder.Supervised([example], _model.Tokenizer, _template, Index.Manifest.CutoffLen, trainOnPrompt: false);
        return encoded.Count > 0 ? encoded[0]
            : throw new UserError($"nothing of the response is left to attribute ({cut[0].Reason})", field: "--response");
    }

    /// <summary>The greedy answer of the trained adapter.</summary>
    public string Generate(string prompt, int maxNewTokens)
    {
        _gradients.Use(null);
        var ids = _template.EncodePrompt(_model.Tokenizer, [new ChatMessage(ChatRole.User, prompt)]);
        var options = new GenerationOptions { MaxNewTokens = maxNewTokens, StopTokenIds = _template.StopTokenIds(_model.Tokenizer) };
        var text = new TextGenerator(_model).Generate([ids], options)[0].Text.Trim();
        return text.Length > 0 ? text : throw new UserError("the adapter's greedy answer is empty; pass the response to attribute", field: "--response");
    }

    /// <summary>TracIn-CP score of every indexed example for one query sample.</summary>
    public double[] Scores(EncodedSample query, bool fisher)
    {
        using var scope = NewDisposeScope();
        var manifest = Index.Manifest;
        Tensor? total = null;
        for (int c = 0; c < manifest.Checkpoints.Count; c++)
        {
            var checkpoint = manifest.Checkpoints[c];
            _gradients.Use(checkpoint.Source == "adapter" ? null : Path.Combine(manifest.Adapter, checkpoint.Source));
            if (_gradients.ParameterCount != checkpoint.Parameters)
                throw new UserError($"{checkpoint.Source} has {_gradients.ParameterCount} trainable values but the index was built with {checkpoint.Parameters}",
                    file: manifest.Adapter, hint: "rebuild the index for this adapter");
            var q = _projections[c].Project(_gradients.Gradient(query)).cpu();            // [k]
            if (fisher) q = Index.FisherInverses[c].matmul(q);
            var part = Index.Sketches[c].matmul(q) * checkpoint.Weight;                      // [N]
            total = total is null ? part : total + part;
        }
        return total!.to(ScalarType.Float64).data<double>().ToArray();
    }

    /// <summary>The query's loss under the saved adapter (for the benchmark's counterfactuals).</summary>
    public double Loss(EncodedSample sample)
    {
        _gradients.Use(null);
        return _gradients.Loss(sample);
    }

    public void Dispose()
    {
        foreach (var p in _projections) p.Dispose();
        _gradients.Dispose();
        _model.Dispose();
        Index.Dispose();
    }
}
