using System.Globalization;
using System.Text;
using ModelLedger.Bench.Gaming;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Rewards.Simulation;

namespace ModelLedger.Bench;

/// <summary><c>mledger bench gaming</c>: runs the rewards gaming simulation — real metering, settlement and
/// verification on a temporary ledger; with a model, real intake and RAG attribution (<see cref="RealGamingWorld"/>),
/// else the simulated world — and renders the table.</summary>
public static class GamingBenchmark
{
    public static SimulationReport Run(int seed, string workDir, int inferences, Action<string> log,
        string? modelDir = null)
    {
        if (modelDir is null) return GamingSimulation.Run(seed, workDir, inferences, epochs: 2, log);
        using var model = PretrainedModel.Load(modelDir, TorchRuntime.ParseDevice("cpu"));
        var world = new RealGamingWorld(model, Directory.CreateDirectory(Path.Combine(workDir, "submissions")).FullName, log);
        var report = GamingSimulation.Run(seed, workDir, inferences, epochs: 2, log, world);
        log($"RAG: {world.RagQuestions} distinct questions answered and ablated");
        return report;
    }

    public static string Markdown(SimulationReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"seed {r.Seed}: {r.Inferences} metered inferences, {r.Epochs} epochs, fees {r.Fees}; rewards verify: {(r.Verified ? "ok" : "FAILED")}");
        sb.AppendLine(inv, $"world: {r.World}");
        sb.AppendLine();
        sb.AppendLine("| class | identities | items | accepted | share of useful data | reward share (rules) | reward share (no rules) | withheld of accrued, by rule |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var c in r.Classes)
            sb.AppendLine(inv,
                $"| {Name(c.Class)} | {c.Identities} | {c.Items} | {c.Accepted} | {c.UsefulShare:P1} | {c.RewardShare:P1} | {c.RewardShareWithoutRules:P1} | {Rules(c)} |");
        sb.AppendLine();
        sb.AppendLine(inv,
            $"adversaries' reward share: {r.AdversaryShare:P2} with the rules (goal < 5 %), {r.AdversaryShareWithoutRules:P2} without;"
            + $" their data's genuinely useful share: {r.AdversaryUsefulShare:P2}; captured beyond it: {r.AdversaryUnearnedShare:P2}");
        sb.AppendLine(inv, $"Spearman(honest rewards, leave-one-out value): {r.HonestSpearman:F3} (goal >= 0.8)");
        return sb.ToString();
    }

    private static string Rules(ClassResult c) => string.Join(", ", c.WithheldByRule.Where(kv => kv.Value >= 0.0005)
        .OrderByDescending(kv => kv.Value).Select(kv => string.Create(CultureInfo.InvariantCulture,
            $"{kv.Key} {kv.Value:P1}")));

    private static string Name(ActorClass c) => c switch
    {
        ActorClass.Honest => "honest", ActorClass.DuplicateFlooder => "duplicate flooders",
            ActorClass.Paraphraser => "paraphrasers",
        ActorClass.JunkFlood => "junk floods", ActorClass.KeywordStuffer => "keyword stuffers",
            ActorClass.SybilSplitter => "sybil splitter",
        ActorClass.SelfDealer => "self-dealers", _ => "copycats",
    };
}
