using ModelLedger.Datanets.Records;

namespace ModelLedger.Datanets.Intake;

/// <summary>One record as it arrives: its canonical content, who claims to send it, and their Ed25519 signature over
/// <see cref="Contributors.ContributorKey.Message"/>.</summary>
public sealed record Contribution(ContentRecord Record, string Contributor, byte[] Signature);

/// <summary>Why a record was refused (stable codes for counting; docs/datanets.md lists them).</summary>
public static class RejectionCodes
{
    public const string Signature = "signature", Duplicate = "duplicate", NearDuplicate = "near-duplicate",
        LowQuality = "low-quality", Quota = "quota";
}

/// <summary>A refused record as the submitter sees it.</summary>
public sealed record Rejection(string File, int Record, string Code, string Reason, string? DuplicateOf);

/// <summary>The outcome of one submission: accepted item ids in order, and every refused record with its reason.</summary>
public sealed record IntakeResult(IReadOnlyList<string> Items, IReadOnlyList<Rejection> Rejected);

/// <summary>Computes a reference model's perplexity of a record's text, for the optional quality signal. Implemented
/// outside this torch-free project (the CLI loads a model); called from one thread.</summary>
public interface IPerplexityScorer
{
    double Perplexity(string text);
}
