namespace ModelLedger.Datanets.Storage;

/// <summary>A registered contributor: name, raw Ed25519 public key (hex), key id, and the leaf hash of its
/// <c>contributor.registered</c> ledger entry.</summary>
public sealed record ContributorRow(string Name, string PublicKey, string KeyId, string LeafHash, string Created);

/// <summary>A datanet's settings and the leaf hash of its <c>datanet.created</c> entry. Quota is per contributor.</summary>
public sealed record DatanetRow(string Name, DatanetFormat Format, string? License, string? Description, long? Quota,
    double NearDupThreshold, string LeafHash, string Created);

/// <summary>One accepted item: its acceptance sequence number, id (= content hash), signer, stored content and the
/// quality signals the reward rules read (length in characters, words, near-duplicate cluster = the id of the
/// cluster's first item, quality score, optional perplexity).</summary>
public sealed record ItemRow(long Seq, string Item, string Contributor, string KeyId, string Signature, string Content,
    string NormHash, byte[] MinHash, int Length, int Words, double Quality, string Cluster, double? Perplexity,
    string Source, string LeafHash);

/// <summary>One refused record: who sent it, its content hash, why (a code and a sentence), what it duplicates.</summary>
public sealed record RejectionRow(string Contributor, string ContentHash, string Code, string Reason, string? DuplicateOf,
    string Source, string LeafHash);

/// <summary>A frozen prefix of a datanet: its first <see cref="Items"/> accepted items, their RFC 9162 root, and the
/// leaf hash of the <c>datanet.snapshot</c> entry.</summary>
public sealed record SnapshotRow(string Datanet, string Root, long Items, string LeafHash, string Created);
