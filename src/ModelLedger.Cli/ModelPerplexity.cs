using ModelLedger.Datanets.Intake;
using ModelLedger.Engine.Models;
using static TorchSharp.torch;

namespace ModelLedger.Cli;

/// <summary>The <c>--score-with MODEL</c> signal: a reference model's perplexity of a record's text, exp of the mean
/// next-token negative log-likelihood over at most the model's context. Keeps Datanets free of libtorch. Owns the
/// model (dispose).</summary>
internal sealed class ModelPerplexity(string modelDirectory) : IPerplexityScorer, IDisposable
{
    private readonly PretrainedModel _model = PretrainedModel.Load(modelDirectory);

    public double Perplexity(string text)
    {
        var ids = _model.Tokenizer.Encode(text, addSpecialTokens: true).Take(_model.Config.MaxPositionEmbeddings)
            .Select(x => (long)x).ToArray();
        if (ids.Length < 2) return double.NaN;
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var input = tensor(ids, [1, ids.Length], device: _model.Network.Device);
        var logProbs = _model.Network.forward(input).to(ScalarType.Float32)[0].narrow(0, 0, ids.Length - 1)
            .log_softmax(-1);                                                    // [T-1, vocab]
        var targets = tensor(ids[1..], device: logProbs.device).unsqueeze(1);    // [T-1, 1]
        return Math.Exp(-logProbs.gather(1, targets).mean().item<float>());
    }

    public void Dispose() => _model.Dispose();
}
