using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelLedger.Datanets;
using ModelLedger.Datanets.Contributors;
using ModelLedger.Datanets.Intake;
using ModelLedger.Ledger;

namespace ModelLedger.Bench;

/// <summary>
/// Datanet intake end to end: one submission of N distinct synthetic text records (prose-shaped: content words from a
/// generated vocabulary between common function words, so they pass the quality rule and share few shingles) read
/// from a JSONL file, validated, signature-checked, looked up for exact and near duplicates, stored, and written to
/// the ledger as one entry each; then the duplicate index is rebuilt from the stored signatures to measure its bytes
/// per item. Signing is the contributor's work, done before the clock starts (the records are read and signed once
/// untimed; the timed intake reads and validates the file again). SQLite in a temp workspace.
/// </summary>
public static class IntakeBenchmark
{
    /// <summary>Wall seconds and process CPU seconds of the intake; on a shared machine the CPU figure
    /// (items per CPU-second, all threads) is the steadier one.</summary>
    /// <param name="StageCpuMicroseconds">Process CPU µs per item of the stages measured apart, untimed in the main
    /// run: reading and validating the file (all cores), and on one thread over a sample, verifying a signature and
    /// analysing a record's text (normalise, shingles, MinHash, quality, paraphrase shape). The rest of
    /// <see cref="CpuMicrosecondsPerItem"/> is the ordered decisions, ledger entries and row inserts.</param>
    public sealed record Result(int Items, int Accepted, double Seconds, double CpuSeconds, double IndexBytesPerItem,
        double RebuildSeconds, long LedgerEntries, double LoadAverage,
        IReadOnlyList<(string Stage, double CpuMicroseconds)> StageCpuMicroseconds,
        IReadOnlyList<(IntakeStage Stage, double CpuSeconds, double WallSeconds, long Bytes)> Profile, Runtime Runtime)
    {
        public double ItemsPerSecond => Items / Seconds;
        public double ItemsPerCpuSecond => Items / CpuSeconds;
        public double CpuMicrosecondsPerItem => CpuSeconds * 1e6 / Items;
    }

    /// <summary>What the runtime itself spent during the timed intake: garbage collections by generation, their
    /// total pause (wall seconds with the program's threads stopped), JIT compilation seconds, and bytes allocated
    /// per item.</summary>
    public sealed record Runtime(int Gen0, int Gen1, int Gen2, double GcPauseSeconds, double JitSeconds,
        double AllocatedBytesPerItem)
    {
        public static Runtime Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
            GC.GetTotalPauseDuration().TotalSeconds, System.Runtime.JitInfo.GetCompilationTime().TotalSeconds,
            GC.GetTotalAllocatedBytes());

        public Runtime Since(Runtime before, int items) => new(Gen0 - before.Gen0, Gen1 - before.Gen1,
            Gen2 - before.Gen2, GcPauseSeconds - before.GcPauseSeconds, JitSeconds - before.JitSeconds,
            (AllocatedBytesPerItem - before.AllocatedBytesPerItem) / Math.Max(1, items));
    }

    public static Result Run(string workDir, int items, Action<string> log)
    {
        var file = Path.Combine(workDir, "records.jsonl");
        WriteRecords(file, items, seed: 11);
        using var ws = LedgerWorkspace.Init(Path.Combine(workDir, "ws"), "bench.example/ledger", null);
        using var service = new DatanetService(ws);
        service.CreateContributor("bench");
        service.CreateDatanet("bench", DatanetFormat.Text, null, null, null);
        log($"intake: signing {items:N0} records (the contributor's side, untimed) ...");
        var process = Process.GetCurrentProcess();
        var stages = new List<(string, double)>();
        var records = Cpu(process, items, stages, "read + validate", () => service.Records("bench", [file]));
        var signatures = new byte[records.Count][];
        using (var key = service.Key("bench"))
            Parallel.For(0, records.Count, i => signatures[i] = key.Sign("bench", records[i].ContentHash));
        var sample = records.Take(Math.Min(records.Count, 5_000)).ToList();
        var publicKey = ContributorKey.ImportPublic(
            Convert.FromHexString(service.Store.Contributor("bench")!.PublicKey));
        Cpu(process, sample.Count, stages, "verify signature", () => sample
            .Select((r, i) => ContributorKey.Verify(publicKey, "bench", r.ContentHash, signatures[i])).Count(ok => ok));
        Cpu(process, sample.Count, stages, "analyse text", () => sample.Select(Datanets.Intake.Analysis.Of).Count());
        log($"intake: {items:N0} records ...");
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var profile = new IntakeProfile();
        var runtime = Runtime.Now();
        var result = service.AddSigned("bench", [file], "bench", signatures, profile: profile);
        double seconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        runtime = Runtime.Now().Since(runtime, items);
        log($"intake: {result.Items.Count:N0} accepted, {result.Rejected.Count:N0} rejected in {seconds:F2} s");
        clock.Restart();
        var pipeline = service.Intake(service.Store.RequireDatanet("bench"));
        double rebuild = clock.Elapsed.TotalSeconds;
        return new Result(items, result.Items.Count, seconds, cpuSeconds,
            (double)pipeline.IndexBytes / Math.Max(1, pipeline.IndexedItems), rebuild, ws.Service.Size, LoadAverage(),
            stages, profile.Stages, runtime);
    }

    /// <summary>Runs <paramref name="stage"/> and records its process CPU µs per item.</summary>
    private static T Cpu<T>(Process process, int items, List<(string, double)> stages, string name, Func<T> stage)
    {
        process.Refresh();
        var before = process.TotalProcessorTime;
        var result = stage();
        process.Refresh();
        stages.Add((name, (process.TotalProcessorTime - before).TotalMicroseconds / Math.Max(1, items)));
        return result;
    }

    public static string Markdown(Result r) => string.Create(CultureInfo.InvariantCulture, $"""
        | records | accepted | wall s | items/s | CPU s | CPU µs/item | index bytes/item | rebuild s | 1-min load |
        |---:|---:|---:|---:|---:|---:|---:|---:|---:|
        | {r.Items:N0} | {r.Accepted:N0} | {r.Seconds:F1} | {r.ItemsPerSecond:N0} | {r.CpuSeconds:F1} | {r.CpuMicrosecondsPerItem:F0} | {r.IndexBytesPerItem:F0} | {r.RebuildSeconds:F2} | {r.LoadAverage:F1} |

        CPU µs per item by stage, measured apart: {string.Join(", ", r.StageCpuMicroseconds.Select(s => $"{s.Stage} {s.CpuMicroseconds:F0}"))}

        {ProfileMarkdown(r)}
        """);

    /// <summary>The in-run breakdown: each stage's thread CPU per item, its share of the process CPU, the wall
    /// seconds of the threads that ran it (stages overlap, so those add up to more than the intake's wall time) and
    /// the bytes it allocated per item.</summary>
    private static string ProfileMarkdown(Result r)
    {
        var rows = r.Profile.Select(s => string.Create(CultureInfo.InvariantCulture,
            $"| {s.Stage} | {s.CpuSeconds * 1e6 / r.Items:F1} | {100 * s.CpuSeconds / r.CpuSeconds:F0} % | "
            + $"{s.WallSeconds:F2} | {(double)s.Bytes / r.Items:N0} |"));
        double other = r.CpuSeconds - r.Profile.Sum(s => s.CpuSeconds);
        var u = r.Runtime;
        return string.Join('\n', [
            "| stage (in the timed run) | CPU µs/item | of process CPU | thread wall s | bytes allocated/item |",
            "|---|---:|---:|---:|---:|",
            .. rows, string.Create(CultureInfo.InvariantCulture, $"| other (GC, JIT, thread pool, pipeline setup) | "
                + $"{other * 1e6 / r.Items:F1} | {100 * other / r.CpuSeconds:F0} % | | |"),
            "", string.Create(CultureInfo.InvariantCulture, $"Runtime during the timed run: {u.Gen0} gen0 / "
                + $"{u.Gen1} gen1 / {u.Gen2} gen2 collections, GC pauses {u.GcPauseSeconds:F2} s, "
                + $"JIT {u.JitSeconds:F2} s, {u.AllocatedBytesPerItem:N0} bytes allocated per item.")]);
    }

    /// <summary>The 1-minute load average (Linux), so a reader can judge how shared the machine was.</summary>
    private static double LoadAverage() => File.Exists("/proc/loadavg")
        ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture) : double.NaN;

    /// <summary>Distinct prose-shaped records: 24–40 words alternating a function word and one of 20,000 generated
    /// three-syllable content words.</summary>
    private static void WriteRecords(string path, int count, int seed)
    {
        string[] function = ["the", "of", "and", "to", "in", "a", "with", "for", "on", "at", "from", "by", "is", "was"];
        string[] syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "no", "pri", "da", "gor", "le", "ti", "mun",
            "ba", "sho", "ve", "ral", "ki", "po", "zen", "fa", "lu", "dri", "mo", "tes", "ni", "cor", "wa", "bel"];
        var rng = new Random(seed);
        var vocabulary = Enumerable.Range(0, 20_000).Select(i =>
            syllables[i % 30] + syllables[i / 30 % 30] + syllables[i / 900 % 30]).ToArray();
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false)) { NewLine = "\n" };
        var words = new List<string>(40);
        for (int i = 0; i < count; i++)
        {
            words.Clear();
            int n = rng.Next(12, 21);
            for (int w = 0; w < n; w++)
            {
                words.Add(function[rng.Next(function.Length)]);
                words.Add(vocabulary[rng.Next(vocabulary.Length)]);
            }
            writer.WriteLine(JsonSerializer.Serialize(new { text = string.Join(' ', words) + "." }));
        }
    }
}
