namespace ModelLedger.Rewards.Simulation;

/// <summary>The kinds of actor in the gaming simulation.</summary>
public enum ActorClass { Honest, DuplicateFlooder, Paraphraser, JunkFlood, KeywordStuffer, SybilSplitter, SelfDealer,
    Copycat }

/// <summary>One simulated item. <see cref="Value"/> is its genuine usefulness (ground truth the rules never see);
/// <see cref="Influence"/> is how much attribution credits it (what a gradient or retrieval score would show);
/// duplicates and paraphrases copy an original's influence, which is exactly why attribution alone can be gamed;
/// <see cref="Original"/> names the honest item a copy or paraphrase was made from.</summary>
public sealed record SimItem(string Id, string Owner, ActorClass Class, bool IsDocument, int Topic, double Value,
    double Influence,
    double Quality, string Cluster, double Effect, bool Stuffed, string? Original = null);

/// <summary>One identity (a ledger account) and the class of the actor behind it.</summary>
public sealed record SimIdentity(string Name, ActorClass Class, string Actor);

/// <summary>
/// The synthetic population, a documented simple model (docs/rewards.md, "What is simulated"): honest contributors
/// with log-normal item values on a few topics; duplicate flooders and copycats resubmitting honest items (same
/// cluster); paraphrasers whose near-duplicates intake places in the original's cluster with probability 0.85;
/// junk floods of low-quality items with small but non-zero influence; keyword stuffers whose documents match every
/// topic but whose removal changes nothing; a sybil splitter spreading one low-value dataset over 8 identities; and
/// self-dealers whose agents buy inferences about their owner's data. Intake outcomes (cluster, quality) are drawn
/// here, not computed by a real intake pipeline.
/// </summary>
public sealed class Population
{
    public const int Topics = 8;
    public List<SimIdentity> Identities { get; } = [];
    public List<SimItem> Items { get; } = [];
    /// <summary>Self-dealing agent → the owner whose data it queries.</summary>
    public Dictionary<string, string> Agents { get; } = new(StringComparer.Ordinal);
    /// <summary>Identities funded by their actor's wallet (linked on the ledger); the rest look independent.</summary>
    public Dictionary<string, string> FundedBy { get; } = new(StringComparer.Ordinal);

    public static Population Generate(Random rng)
    {
        var p = new Population();
        int next = 0;
        string Id() => $"it{next++:D5}";
        double LogNormal(double sigma) => Math.Exp(sigma * Gaussian(rng));
        var honestItems = new List<SimItem>();
        for (int h = 0; h < 16; h++)
        {
            var name = $"honest{h:D2}";
            p.Identities.Add(new SimIdentity(name, ActorClass.Honest, name));
            double skill = LogNormal(0.6);
            int count = rng.Next(5, 31);
            for (int i = 0; i < count; i++)
            {
                double v = skill * LogNormal(0.8);
                bool doc = rng.NextDouble() < 0.3;
                var id = Id();
                honestItems.Add(new SimItem(id, name, ActorClass.Honest, doc, rng.Next(Topics), v, v,
                    0.6 + 0.4 * rng.NextDouble(), id,
                    0.05 + 0.1 * v, false));
            }
        }
        p.Items.AddRange(honestItems);
        SimItem Copy(SimItem original, string owner, ActorClass c, double influence, string cluster) =>
            original with { Id = Id(), Owner = owner, Class = c, Value = 0, Influence = influence, Cluster = cluster,
                Original = original.Id };
        foreach (var (cls, prefix, identities, perIdentity) in new[]
                 { (ActorClass.DuplicateFlooder, "dupe", 2, 40), (ActorClass.Paraphraser, "para", 2, 30),
                     (ActorClass.Copycat, "copy", 2, 15) })
            for (int a = 0; a < identities; a++)
            {
                var name = $"{prefix}{a}";
                p.Identities.Add(new SimIdentity(name, cls, name));
                for (int i = 0; i < perIdentity; i++)
                {
                    var original = honestItems[rng.Next(honestItems.Count)];
                    var caught = cls != ActorClass.Paraphraser || rng.NextDouble() < 0.85;
                    var copy = Copy(original, name, cls,
                        cls == ActorClass.Paraphraser ? 0.8 * original.Influence : original.Influence,
                            original.Cluster);
                    p.Items.Add(caught ? copy : copy with { Cluster = copy.Id,
                        Quality = 0.55 + 0.3 * rng.NextDouble() });
                }
            }
        for (int a = 0; a < 2; a++)
        {
            var name = $"junk{a}";
            p.Identities.Add(new SimIdentity(name, ActorClass.JunkFlood, name));
            for (int i = 0; i < 200; i++)
            {
                var id = Id();
                p.Items.Add(new SimItem(id, name, ActorClass.JunkFlood, rng.NextDouble() < 0.3, rng.Next(Topics), 0,
                    0.08 * LogNormal(0.5),
                    0.3 * rng.NextDouble(), id, 0.01 * rng.NextDouble(), false));
            }
        }
        for (int a = 0; a < 2; a++)
        {
            var name = $"stuffer{a}";
            p.Identities.Add(new SimIdentity(name, ActorClass.KeywordStuffer, name));
            for (int i = 0; i < 20; i++)
            {
                var id = Id();
                p.Items.Add(new SimItem(id, name, ActorClass.KeywordStuffer, true, rng.Next(Topics), 0, 1.0,
                    0.6 + 0.3 * rng.NextDouble(), id,
                    0.015 * rng.NextDouble(), true));
            }
        }
        const string sybil = "sybil";
        for (int i = 0; i < 8; i++)
        {
            var name = $"sybil{i}";
            p.Identities.Add(new SimIdentity(name, ActorClass.SybilSplitter, sybil));
            if (rng.NextDouble() < 0.5) p.FundedBy[name] = "wallet:sybil";
        }
        for (int i = 0; i < 64; i++)
        {
            var id = Id();
            double v = 0.3 * LogNormal(0.8);
            p.Items.Add(new SimItem(id, $"sybil{i % 8}", ActorClass.SybilSplitter, rng.NextDouble() < 0.3,
                rng.Next(Topics), v, v,
                0.5 + 0.2 * rng.NextDouble(), id, 0.05 + 0.1 * v, false));
        }
        for (int a = 0; a < 2; a++)
        {
            var owner = $"dealer{a}";
            p.Identities.Add(new SimIdentity(owner, ActorClass.SelfDealer, owner));
            p.Agents[$"agent:dealer{a}-bot"] = owner;
            for (int i = 0; i < 10; i++)
            {
                var id = Id();
                double v = 0.3 * LogNormal(0.8);
                p.Items.Add(new SimItem(id, owner, ActorClass.SelfDealer, rng.NextDouble() < 0.3, rng.Next(Topics), v,
                    v, 0.6 + 0.3 * rng.NextDouble(), id,
                    0.05 + 0.1 * v, false));
            }
        }
        return p;
    }

    public static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
