using ModelLedger.Attribution.Snapshots;

namespace ModelLedger.Attribution.Rag;

/// <summary>One retrievable document and who contributed it.</summary>
internal sealed record RagDocument(int Row, string Item, string Contributor, string Title, string Text);

/// <summary>The documents of a datanet (or snapshot of one), the root an attribution names as its index, and the
/// leaf hash of the ledger's datanet.snapshot entry when there is one.</summary>
internal sealed record DocumentSet(IReadOnlyList<RagDocument> Documents, string IndexRoot, string? LedgerLeafHash)
{
    /// <summary>The documents of a snapshot folder whose format is <c>documents</c> ({"title","text"} lines).</summary>
    public static DocumentSet FromSnapshot(string directory)
    {
        var snapshot = SnapshotFolder.Open(directory);
        if (snapshot.Format != "documents")
            throw new UserError($"is a '{snapshot.Format}' snapshot; rag needs a 'documents' one ({{\"title\",\"text\"}} lines)",
                file: Path.Combine(directory, SnapshotFolder.ManifestFile), field: "format");
        var documents = snapshot.Rows.Select(r => new RagDocument(r.Row, r.Item, r.Contributor,
            r.Record["title"]?.GetValue<string>() ?? "", r.Record["text"]!.GetValue<string>())).ToArray();
        return new DocumentSet(documents, snapshot.IndexRoot, snapshot.LedgerLeafHash);
    }
}

/// <summary>
/// Resolves <c>--datanet NAME</c> to its documents. Implementations MUST return the datanet's accepted documents in
/// snapshot order with each one's item id and contributor, and the Merkle root a snapshot of them would carry (so the
/// attribution event names the same root as <c>mledger datanet snapshot</c>). Called once per command.
/// </summary>
internal interface IDatanetDocuments
{
    DocumentSet Load(string workspace, string? db, string datanet);
}

/// <summary>The resolver of a build without the datanets store: names the snapshot route instead.</summary>
internal sealed class SnapshotOnlyDatanets : IDatanetDocuments
{
    public DocumentSet Load(string workspace, string? db, string datanet) =>
        throw new UserError($"this build cannot read datanet '{datanet}' from the workspace", field: "--datanet",
            hint: $"snapshot it (mledger datanet snapshot {datanet} --out DIR) and pass --snapshot DIR");
}
