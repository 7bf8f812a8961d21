using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Evaluation.Metrics;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger metrics --input PAIRS.jsonl</c>: ROUGE/BLEU for prediction/reference pairs, one JSON line each,
/// then a corpus line.</summary>
internal static class MetricsCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input") { Required = true, Description = "JSONL lines {\"prediction\": ..., \"reference\": ...}" };
        var stemmer = new Option<bool>("--stemmer") { Description = "Porter-stem tokens for Google ROUGE (rouge_score use_stemmer=True)" };
        var command = new Command("metrics", "ROUGE-1/2/L/Lsum, BLEU-4, sacreBLEU and LLaMA-Factory scores for prediction/reference pairs") { input, stemmer };
        command.SetAction((p, _) =>
        {
            var path = p.GetValue(input)!;
            if (!File.Exists(path)) throw new UserError("file not found", file: path);
            var rouge = new RougeScore(p.GetValue(stemmer));
            var (predictions, references, scores) = (new List<string>(), new List<string>(), new List<PairScores>());
            int line = 0;
            foreach (var text in File.ReadLines(path))
            {
                line++;
                if (string.IsNullOrWhiteSpace(text)) continue;
                JsonObject pair;
                try { pair = JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not an object"); }
                catch (JsonException e) { throw new UserError($"not a JSON object ({e.Message})", file: path, line: line); }
                string Field(string name) => pair[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s
                    : throw new UserError("must be a string", file: path, line: line, field: name);
                var (prediction, reference) = (Field("prediction"), Field("reference"));
                var s = PairScores.Compute(prediction, reference, rouge);
                predictions.Add(prediction);
                references.Add(reference);
                scores.Add(s);
                Console.WriteLine(MetricsReport.Pair(s).ToJsonString());
            }
            if (scores.Count == 0)
                throw new UserError("holds no prediction/reference pairs; zero scores would be meaningless", file: path,
                    hint: "one JSON object per line: {\"prediction\": \"...\", \"reference\": \"...\"}");
            Console.WriteLine(new JsonObject { ["corpus"] = MetricsReport.Corpus(scores, predictions, references) }.ToJsonString());
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
