using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger info</c>: what a model directory holds and what it costs in memory.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout" };
        var command = new Command("info", "Show a model's architecture, parameter count, dtype and memory") { json };
        command.With(model.All);
        command.SetAction((p, _) =>
        {
            var (loaded, adapters) = model.Load(p);
            using var _loaded = loaded;
            using var _adapters = adapters;
            var c = loaded.Config;
            long kvBytesPerToken = 2L * c.NumHiddenLayers * c.NumKeyValueHeads * c.HeadDim * (loaded.WeightBytes() / Math.Max(loaded.Network.ParameterCount(), 1));
            var facts = new Dictionary<string, object>
            {
                ["architecture"] = c.Architecture.ToString(),
                ["parameters"] = loaded.Network.ParameterCount(),
                ["dtype"] = Engine.Models.PretrainedModel.DTypeName(loaded.Network.DType),
                ["device"] = loaded.Device.ToString().ToLowerInvariant(),
                ["weight_bytes"] = loaded.WeightBytes(),
                ["kv_cache_bytes_per_token"] = kvBytesPerToken,
                ["layers"] = c.NumHiddenLayers,
                ["hidden_size"] = c.HiddenSize,
                ["intermediate_size"] = c.IntermediateSize,
                ["attention_heads"] = c.NumAttentionHeads,
                ["key_value_heads"] = c.NumKeyValueHeads,
                ["head_dim"] = c.HeadDim,
                ["vocab_size"] = c.VocabSize,
                ["max_position_embeddings"] = c.MaxPositionEmbeddings,
                ["rope_theta"] = c.RopeTheta,
                ["rope_scaling"] = c.Rope.Type.ToString().ToLowerInvariant(),
                ["tie_word_embeddings"] = c.TieWordEmbeddings,
                ["bos_token_id"] = (object?)loaded.Tokenizer.BosId ?? "none",
                ["eos_token_ids"] = loaded.Tokenizer.EosIds,
            };
            if (p.GetValue(json)) { Console.WriteLine(JsonSerializer.Serialize(facts)); return Task.FromResult(ExitCodes.Ok); }
            var table = new Table().AddColumn("property").AddColumn("value");
            foreach (var (key, value) in facts)
                table.AddRow(key, Markup.Escape(value switch
                {
                    long bytes when key.EndsWith("bytes", StringComparison.Ordinal) => $"{bytes:N0} ({bytes / 1048576.0:F1} MiB)",
                    long n => n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                    IEnumerable<int> ids => string.Join(", ", ids),
                    _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
                }));
            AnsiConsole.Write(table);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
