using ModelLedger.Data.Datasets;
using ModelLedger.Data.Chat;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Tuning.Data;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

/// <summary>How a query's sketch is compared with the training examples' (all TracIn-CP sums over checkpoints).</summary>
public enum InfluenceScore
{
    /// <summary>η_c·⟨g_i, q⟩/‖g_i‖: the training gradient's norm divided out, so examples the model still finds hard
    /// (large gradients everywhere) do not outrank the ones that point the query's way; an example identical to the
    /// query scores highest (Cauchy–Schwarz).</summary>
    Cosine,
    /// <summary>η_c·⟨g_i, q⟩: TracIn-CP as published.</summary>
    Dot,
    /// <summary>η_c·g_iᵀ(F + λI)⁻¹q: the DataInf-style damped inverse-Fisher correction, in sketch space.</summary>
    Fisher,
}

/// <summary>
/// Answers attribution queries against a loaded index: the query's gradient q_c at each indexed checkpoint, projected
/// with the same CountSketch, scores every training example i with TracIn-CP, score_i = Σ_c η_c·s(g_{i,c}, q_c) where
/// s is one of <see cref="InfluenceScore"/>. Positive scores are proponents: a gradient step on example i lowered the
/// query's loss. Owns the model, the index and the projections; one query at a time.
/// </summary>
public sealed class InfluenceAttributor : IDisposable
{
    private readonly PretrainedModel _model;
    private readonly GradientModel _gradients;
    private readonly List<CountSketch> _projections;
    private readonly ChatTemplate _template;
    private readonly SketchScorer _scorer;

    public GradientIndex Index { get; }

    private InfluenceAttributor(GradientIndex index, PretrainedModel model, GradientModel gradients)
    {
        (Index, _model, _gradients) = (index, model, gradients);
        _template = ChatTemplate.Named(index.Manifest.Template);
        var device = model.Network.Device;
        _projections = index.Manifest.Checkpoints.Select(c => new CountSketch(c.Parameters, index.Manifest.Dims, index.Manifest.Seed, device)).ToList();
        _scorer = new SketchScorer(index);
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

    public static string MethodName(InfluenceScore score) => score switch
    {
        InfluenceScore.Cosine => "tracin-cp-cosine",
        InfluenceScore.Dot => "tracin-cp",
        _ => "tracin-cp-fisher",
    };

    /// <summary>Attributes <paramref name="response"/> (greedy from the adapter when null) to the training data.</summary>
    public AttributionResult Attribute(string prompt, string? response, int top, InfluenceScore score, int maxNewTokens = 64)
    {
        if (top < 0) throw new UserError($"must be ≥ 0 (got {top})", field: "--top");
        if (string.IsNullOrWhiteSpace(prompt)) throw new UserError("is empty", field: "--prompt");
        response ??= Generate(prompt, maxNewTokens);
        var scores = Scores(Encode(prompt, response), score);
        var owners = Index.Owners;
        var best = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).Take(top)
            .Select(i => new ExampleScore(owners[i].Item, owners[i].Contributor, scores[i])).ToList();
        return new AttributionResult(MethodName(score), response, best, ContributorShares.From(owners, scores));
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
    public double[] Scores(EncodedSample query, InfluenceScore score)
    {
        var sketches = QuerySketches(query);
        try { return Scores(sketches, score); }
        finally { foreach (var t in sketches) t.Dispose(); }
    }

    /// <summary>The query's projected gradient at each indexed checkpoint, [k] each (the caller disposes them).</summary>
    public IReadOnlyList<Tensor> QuerySketches(EncodedSample query)
    {
        var manifest = Index.Manifest;
        var result = new List<Tensor>();
        for (int c = 0; c < manifest.Checkpoints.Count; c++)
        {
            var checkpoint = manifest.Checkpoints[c];
            _gradients.Use(checkpoint.Source == "adapter" ? null : Path.Combine(manifest.Adapter, checkpoint.Source));
            if (_gradients.ParameterCount != checkpoint.Parameters)
                throw new UserError($"{checkpoint.Source} has {_gradients.ParameterCount} trainable values but the index was built with {checkpoint.Parameters}",
                    file: manifest.Adapter, hint: "rebuild the index for this adapter");
            using var scope = NewDisposeScope();
            result.Add(_projections[c].Project(_gradients.Gradient(query)).cpu().MoveToOuterDisposeScope());   // [k]
        }
        return result;
    }

    /// <summary>Scores from query sketches (see <see cref="SketchScorer"/>).</summary>
    public double[] Scores(IReadOnlyList<Tensor> querySketches, InfluenceScore score) => _scorer.Scores(querySketches, score);

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
