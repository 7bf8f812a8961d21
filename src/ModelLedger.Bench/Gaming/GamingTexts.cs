using System.Text.Json;
using ModelLedger.Rewards.Simulation;

namespace ModelLedger.Bench.Gaming;

/// <summary>
/// The contributions of the gaming population as real records, so that the datanets intake decides what each class
/// gets. Training items are alpaca ad records; documents are one-fact stories ("Lily has a red ball. …") that a
/// tiny TinyStories model can answer questions about ("What color is Lily's ball?"), the topic being the thing;
/// both are composed from many parts, so that two honest records are as different as two people's data.
/// Duplicate flooders and copycats resend an honest record byte for byte; paraphrasers swap synonyms (each word with
/// a per-item probability of 0.15–0.6) and reorder the sentences; junk floods send word salad and templated spam;
/// keyword stuffers write prose naming every name and thing. Deterministic for a seed.
/// </summary>
internal sealed class GamingTexts
{
    public static readonly string[] Things = ["ball", "hat", "kite", "car", "box", "bag", "cup", "bed"];
    private static readonly string[] Colors =
    [
        "red", "blue", "green", "yellow", "pink", "brown", "black", "white", "purple", "orange",
    ];
    private static readonly string[] Names =
    [
        "Lily", "Tom", "Ben", "Sue", "Max", "Amy", "Sam", "Mia", "Tim", "Ann", "Joe", "Zoe", "Leo", "Eva", "Dan", "Kim",
        "Bob", "Liz", "Ned", "Ivy", "Roy", "Fay", "Gus", "Meg", "Ray", "Pam", "Ted", "Kay", "Jim", "Dot", "Hal", "Viv",
        "Abe", "Bea", "Cal", "Dee", "Eli", "Flo", "Gil", "Hope", "Ian", "Jade", "Kit", "Lou", "Mo", "Nell", "Otis",
        "Pia",
    ];
    private static readonly string[] Story =
    [
        "It was a sunny day in the park.", "Mom said it was a very good gift.", "The dog liked to look at it.",
        "One day it fell on the floor.", "A friend asked to play with it too.", "It was kept under the big tree.",
        "Every night it was put on the shelf.", "The cat tried to take it away.", "Grandpa found it in the old shed.",
        "It made everyone in the house smile.", "The bird sat on it for a while.", "It got wet in the rain once.",
        "They took it to the beach in the summer.", "It was the best thing in the whole town.",
        "The little brother wanted it very much.", "It was a present from a kind neighbor.",
    ];
    // Honest records are written from many parts (ad: title, maker, material, shop, town, uses, extras, price; fact:
    // two of four sentence shapes), so that two honest records differ the way two people's data does. With the 16
    // stock ad lines alone, 88 % of honest ads were near-duplicates (word-shingle Jaccard >= 0.5) of an earlier
    // honest ad, and intake's cluster (the duplicate rule's input) paid only the first — the ground truth here
    // values every honest item independently.
    private static readonly string[] AdTitles =
    [
        "The {0} {1} you have been waiting for.", "Meet our new {0} {1}.", "A {0} {1} like no other.",
        "Say hello to the {0} {1}.", "Your next favourite: a {0} {1}.", "Here is a {0} {1} worth keeping.",
    ];
    private static readonly string[] Makes =
    [
        "Stitched", "Carved", "Woven", "Painted", "Molded", "Polished", "Sewn", "Shaped", "Printed", "Assembled",
        "Dyed", "Finished",
    ];
    private static readonly string[] Materials =
    [
        "from recycled cotton", "from beech wood", "from soft felt", "from sturdy canvas", "from bamboo fibre",
        "from light aluminium", "from thick wool", "from clear resin", "from cork and leather", "from oak offcuts",
    ];
    private static readonly string[] Shops =
    [
        "Rosa", "Milo", "Hana", "Otto", "Nina", "Pablo", "Greta", "Ivan", "Lena", "Omar", "Tara", "Felix",
    ];
    private static readonly string[] Towns =
    [
        "Brookfield", "Elmwood", "Stonebridge", "Harbor Point", "Maple Hill", "Riverside", "Oakdale", "Pinecrest",
        "Sunnyvale", "Willow Creek",
    ];
    private static readonly string[] Uses =
    [
        "for rainy afternoons", "for long road trips", "for tiny hands", "for picnics by the lake",
        "for sleepy bedtimes", "for muddy garden days", "for snowy mornings", "for birthday parties",
        "for camping weekends", "for school mornings", "for the first day of spring", "for quiet reading corners",
    ];
    private static readonly string[] Extras =
    [
        "with rounded corners", "with a hidden pocket", "with bright stitching", "with a spare strap",
        "with a name tag", "with a tiny bell", "with a matching pouch", "with reflective trim",
        "with a wipe-clean finish", "with a lifetime repair promise",
    ];
    private static readonly string[] FactFirst =
    [
        "{0} has a {1} {2}.", "{0} owns a {1} {2}.", "The {2} that {0} keeps is {1}.", "{0} got a {1} {2} last spring.",
    ];
    private static readonly string[] FactSecond =
    [
        "{0} likes the {1} {2} very much.", "Nobody else in town has a {2} so {1}.",
        "Each morning {0} checks that the {1} {2} is safe.", "{0} calls it the best {1} {2} ever.",
    ];
    private static readonly Dictionary<string, string> Synonyms = new(StringComparer.Ordinal)
    {
        ["big"] = "large", ["little"] = "small", ["happy"] = "glad", ["good"] = "fine", ["very"] = "really",
        ["liked"] = "loved", ["look"] = "gaze", ["day"] = "morning", ["friend"] = "pal", ["asked"] = "begged",
        ["kept"] = "stored", ["put"] = "placed", ["take"] = "grab", ["found"] = "discovered", ["old"] = "ancient",
        ["made"] = "caused", ["sat"] = "rested", ["wet"] = "soaked", ["took"] = "brought", ["best"] = "finest",
        ["wanted"] = "desired", ["kind"] = "nice", ["gift"] = "present", ["floor"] = "ground", ["whole"] = "entire",
        ["has"] = "owns", ["likes"] = "adores", ["much"] = "greatly", ["years"] = "ages", ["carry"] = "bring",
        ["love"] = "adore", ["care"] = "attention", ["easy"] = "simple", ["quick"] = "fast", ["softer"] = "gentler",
        ["brighter"] = "shinier", ["perfect"] = "ideal", ["today"] = "now", ["loved"] = "adored", ["fun"] = "joyful",
        ["see"] = "notice", ["difference"] = "change", ["classic"] = "timeless", ["room"] = "space", ["shop"] = "store",
        ["write"] = "compose", ["ad"] = "advert", ["for"] = "about", ["every"] = "each",
        ["new"] = "fresh", ["great"] = "superb", ["only"] = "just", ["coins"] = "pennies", ["rainy"] = "wet",
        ["long"] = "lengthy", ["tiny"] = "wee", ["soft"] = "gentle", ["sturdy"] = "strong", ["light"] = "feathery",
        ["thick"] = "heavy", ["bright"] = "vivid", ["hidden"] = "secret", ["spare"] = "extra", ["matching"] = "paired",
        ["quiet"] = "calm", ["mornings"] = "dawns", ["morning"] = "dawn", ["owns"] = "possesses", ["keeps"] = "holds",
        ["got"] = "received", ["nobody"] = "no one", ["checks"] = "ensures", ["calls"] = "names", ["ever"] = "yet",
        ["stitched"] = "sewn", ["carved"] = "cut", ["painted"] = "coloured", ["worth"] = "deserving",
        ["favourite"] = "pick", ["hello"] = "hi", ["waiting"] = "hoping", ["meet"] = "greet",
    };

    private readonly Dictionary<string, RenderedRecord> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<int, Queue<string>> _freeNames = [];

    /// <summary>A rendered record: the JSON line, and for a fact document the question it answers.</summary>
    public sealed record RenderedRecord(string Json, string? Question, string[] Sentences, string Title);

    public GamingTexts(Population population, Random rng)
    {
        for (int t = 0; t < Things.Length; t++)
            _freeNames[t] = new Queue<string>(Names.OrderBy(_ => rng.Next()));
        // Originals first (copies and paraphrases are made from them), in population order.
        foreach (var item in population.Items.OrderBy(i => i.Class is ActorClass.Honest or ActorClass.SybilSplitter
                     or ActorClass.SelfDealer ? 0 : 1))
            _byId[item.Id] = Render(item, rng);
    }

    public RenderedRecord this[string id] => _byId[id];

    private RenderedRecord Render(SimItem item, Random rng) => item.Class switch
    {
        ActorClass.DuplicateFlooder or ActorClass.Copycat => _byId[item.Original!],
        ActorClass.Paraphraser => Paraphrase(_byId[item.Original!], item.IsDocument, 0.15 + 0.45 * rng.NextDouble(),
            rng),
        ActorClass.JunkFlood => Junk(item, rng),
        ActorClass.KeywordStuffer => Stuffed(rng),
        _ => item.IsDocument ? Fact(item.Topic, rng) : Ad(item.Topic, rng),
    };

    private RenderedRecord Fact(int topic, Random rng)
    {
        var queue = _freeNames[topic];
        var name = queue.Count > 0 ? queue.Dequeue()
            : Names[rng.Next(Names.Length)] + Names[rng.Next(Names.Length)].ToLowerInvariant();
        var thing = Things[topic];
        var color = Colors[rng.Next(Colors.Length)];
        string[] sentences = [Format(FactFirst[rng.Next(FactFirst.Length)], name, color, thing),
            Format(FactSecond[rng.Next(FactSecond.Length)], name, color, thing), .. Pick(Story, 2, rng)];
        return Document($"{name}'s {thing}", sentences, $"What color is {name}'s {thing}?");
    }

    private static RenderedRecord Ad(int topic, Random rng)
    {
        var thing = Things[topic];
        var color = Colors[rng.Next(Colors.Length)];
        string Any(string[] pool) => pool[rng.Next(pool.Length)];
        string[] sentences =
        [
            Format(Any(AdTitles), color, thing),
            $"{Any(Makes)} {Any(Materials)} by {Any(Shops)} in {Any(Towns)}.",
            $"Great {Any(Uses)}, {Any(Extras)}.",
            FormattableString.Invariant($"Only {rng.Next(3, 61)} coins."),
        ];
        return Alpaca($"Write an ad for a {color} {thing}", sentences);
    }

    private static RenderedRecord Paraphrase(RenderedRecord original, bool document, double swap, Random rng)
    {
        var sentences = original.Sentences.OrderBy(_ => rng.Next())
            .Select(s => string.Join(' ', s.Split(' ').Select(w => Swap(w, swap, rng)))).ToArray();
        return document ? Document(original.Title, sentences, original.Question)
            : Alpaca(JsonDocument.Parse(original.Json).RootElement.GetProperty("instruction").GetString()!, sentences);
    }

    private static string Swap(string word, double probability, Random rng)
    {
        var bare = word.TrimEnd('.', ',', '!', '?');
        return Synonyms.TryGetValue(bare.ToLowerInvariant(), out var other) && rng.NextDouble() < probability
            ? other + word[bare.Length..] : word;
    }

    private static RenderedRecord Junk(SimItem item, Random rng)
    {
        string[] sentences;
        if (rng.NextDouble() < 0.5)
        {   // word salad: pronounceable non-words and content words without grammar
            sentences = [string.Join(' ', Enumerable.Range(0, 14).Select(_ => rng.NextDouble() < 0.5
                ? Things[rng.Next(Things.Length)] : Syllables(rng)))];
        }
        else
        {   // templated spam: one template, one slot
            var thing = Things[item.Topic];
            sentences = [$"Buy the best {thing} now!", $"Cheap {thing} deals for you, order the {thing} today.",
                $"Click here for a free {thing}."];
        }
        return item.IsDocument ? Document("offer", sentences, null) : Alpaca("Write an ad", sentences);
    }

    private static string Syllables(Random rng) => string.Concat(Enumerable.Range(0, 2 + rng.Next(2))
        .Select(_ => $"{"bdfgklmnprstvz"[rng.Next(14)]}{"aeiou"[rng.Next(5)]}"));

    private static RenderedRecord Stuffed(Random rng)
    {
        var names = Names.OrderBy(_ => rng.Next()).Take(12).ToArray();
        var things = Things.OrderBy(_ => rng.Next()).ToArray();
        string[] sentences =
        [
            $"{string.Join(", ", names[..6])} and {names[6]} all have a {string.Join(", a ", things[..4])}.",
            $"{string.Join(", ", names[7..])} like the {string.Join(", the ", things[4..])} and the {things[0]}.",
            $"What color is the {things[1]}? Every {things[2]} and every {things[3]} is here for {names[0]} and "
                + $"{names[8]}.",
        ];
        return Document($"{names[0]}'s {things[0]}", sentences, null);
    }

    private static string Format(string shape, params object[] parts) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, shape, parts);

    private static string[] Pick(string[] pool, int n, Random rng) => pool.OrderBy(_ => rng.Next()).Take(n).ToArray();

    private static RenderedRecord Document(string title, string[] sentences, string? question) =>
        new(JsonSerializer.Serialize(new { title, text = string.Join(' ', sentences) }), question, sentences, title);

    private static RenderedRecord Alpaca(string instruction, string[] sentences) =>
        new(JsonSerializer.Serialize(new { instruction, input = "", output = string.Join(' ', sentences) }), null,
            sentences, "");
}
