using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Data.Datasets;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Evaluation.Metrics;
using ModelLedger.Tuning.Adapters;
using static TorchSharp.torch;

namespace ModelLedger.Evaluation.Prediction;

/// <summary>What <c>mledger eval</c> needs: model, optional adapter, dataset, template and generation length.</summary>
public sealed record PredictRequest(string Model, string? Adapter, string Dataset, string DatasetDir, string? Template, int MaxNewTokens,
    string OutputDir, int BatchSize = 8, int? MaxSamples = null, string Device = "cpu");

/// <summary>
/// LLaMA-Factory's predict_with_generate: greedy answers for every example (batched, left-padded), written to
/// generated_predictions.jsonl (prompt, predict, label), and predict_results.json with its metric names
/// (predict_rouge-1/-2/-l, predict_bleu-4) plus Google ROUGE F1, sacreBLEU, answer perplexity and samples/s.
/// </summary>
public static class BatchPrediction
{
    /// <param name="onProgress">Called after each batch with (examples done, total), e.g. for a progress bar.</param>
    public static JsonObject Run(PredictRequest request, Action<string> log, CancellationToken cancellation = default, Action<int, int>? onProgress = null)
    {
        // Before any prediction: a bad output path found after generating would lose all of it. Predictions go beside
        // other files (a training output_dir), so only the path itself is checked, not emptiness.
        ModelLedger.Data.OutputDirectory.Check(request.OutputDir, "--out", overwrite: true);
        using var model = PretrainedModel.Load(request.Model, Engine.Runtime.TorchRuntime.ParseDevice(request.Device));
        using var adapters = new AdapterSet(model);
        if (request.Adapter is not null) adapters.Load(request.Adapter, "eval");
        var template = request.Template is string t ? ChatTemplate.Named(t) : ChatTemplate.Detect(model.Tokenizer);
        var examples = new List<Example>();
        foreach (var spec in DatasetInfo.Resolve(request.DatasetDir, request.Dataset))
        {
            var (read, rejected) = DatasetReader.Read(spec, rawText: false);
            foreach (var r in rejected.Take(3)) log($"skipped {r}");
            examples.AddRange(request.MaxSamples is int max ? read.Take(max) : read);
        }
        if (examples.Count == 0) throw new UserError("no examples to predict", field: "dataset");
        var prompts = examples.Select(e => template.EncodePrompt(model.Tokenizer, e.Messages.SkipLast(1).ToList())).ToList();
        var labels = examples.Select(e => e.Messages[^1].Content).ToList();
        var options = new GenerationOptions { MaxNewTokens = request.MaxNewTokens, StopTokenIds = template.StopTokenIds(model.Tokenizer) };
        var generator = new TextGenerator(model);
        var predictions = new List<string>();
        var watch = Stopwatch.StartNew();
        for (int start = 0; start < prompts.Count; start += request.BatchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var batch = prompts.Skip(start).Take(request.BatchSize).ToList();
            predictions.AddRange(generator.Generate(batch, options, cancellation: cancellation).Select(r => r.Text.Trim()));
            log($"predicted {predictions.Count}/{prompts.Count} ({predictions.Count / watch.Elapsed.TotalSeconds:F1} samples/s)");
            onProgress?.Invoke(predictions.Count, prompts.Count);
        }
        double seconds = watch.Elapsed.TotalSeconds;
        double nll = AnswerNll(model, prompts, examples, template);

        Directory.CreateDirectory(request.OutputDir);
        using (var writer = new StreamWriter(Path.Combine(request.OutputDir, "generated_predictions.jsonl")))
            for (int i = 0; i < predictions.Count; i++)
                writer.WriteLine(JsonSerializer.Serialize(new { prompt = model.Tokenizer.Decode(prompts[i]), predict = predictions[i], label = labels[i] }));
        var rouge = new RougeScore(useStemmer: false);
        var scores = predictions.Zip(labels, (p, l) => PairScores.Compute(p, l, rouge)).ToList();
        var results = new JsonObject
        {
            ["predict_rouge-1"] = Math.Round(scores.Average(s => s.LlamaFactory.Rouge1), 4),
            ["predict_rouge-2"] = Math.Round(scores.Average(s => s.LlamaFactory.Rouge2), 4),
            ["predict_rouge-l"] = Math.Round(scores.Average(s => s.LlamaFactory.RougeL), 4),
            ["predict_bleu-4"] = Math.Round(scores.Average(s => s.LlamaFactory.Bleu4), 4),
            ["google_rouge1_f"] = scores.Average(s => s.Rouge1.F),
            ["google_rouge2_f"] = scores.Average(s => s.Rouge2.F),
            ["google_rougeL_f"] = scores.Average(s => s.RougeL.F),
            ["google_rougeLsum_f"] = scores.Average(s => s.RougeLsum.F),
            ["sacrebleu"] = SacreBleu.Corpus(predictions, labels).Score,
            ["predict_loss"] = nll,
            ["perplexity"] = Math.Exp(nll),
            ["predict_samples"] = predictions.Count,
            ["predict_runtime"] = Math.Round(seconds, 3),
            ["predict_samples_per_second"] = Math.Round(predictions.Count / seconds, 3),
        };
        File.WriteAllText(Path.Combine(request.OutputDir, "predict_results.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return results;
    }

    /// <summary>Mean negative log-likelihood per answer token (the reference answers), teacher-forced.</summary>
    public static double AnswerNll(PretrainedModel model, IReadOnlyList<int[]> prompts, IReadOnlyList<Example> examples, ChatTemplate template)
    {
        double total = 0;
        long count = 0;
        using var inference = inference_mode();
        for (int i = 0; i < examples.Count; i++)
        {
            using var scope = NewDisposeScope();
            var answer = template.EncodeTurns(model.Tokenizer, examples[i].Messages)[^1].Answer;
            var ids = prompts[i].Concat(answer).Select(x => (long)x).ToArray();
            if (answer.Length == 0 || ids.Length < 2) continue;
            var logits = model.Network.forward(tensor(ids, [1, ids.Length], device: model.Network.Device)).to(ScalarType.Float32);
            var logProbs = logits[0].narrow(0, prompts[i].Length - 1, answer.Length).log_softmax(-1);
            var targets = tensor(answer.Select(x => (long)x).ToArray(), device: logProbs.device).unsqueeze(1);
            total -= logProbs.gather(1, targets).sum().item<float>();
            count += answer.Length;
        }
        return count == 0 ? double.NaN : total / count;
    }
}
