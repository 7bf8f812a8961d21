using System.Text.Json.Nodes;
using ModelLedger.Datanets;
using ModelLedger.Datanets.Storage;
using ModelLedger.Ledger;

namespace ModelLedger.Attribution.Rag;

/// <summary>
/// <c>--datanet NAME</c> read from the workspace's datanet tables: the accepted items in acceptance order (row i =
/// what line i of a snapshot taken now would be), each with its item id and contributor, and the root
/// <see cref="DatanetService.Current"/> computes, the same one <c>mledger datanet snapshot</c> would record. The
/// ledger leaf is the datanet.snapshot entry's when a snapshot with that root was taken, else none.
/// </summary>
internal sealed class DatanetDocuments : IDatanetDocuments
{
    public DocumentSet Load(string workspace, string? db, string datanet)
    {
        using var ws = LedgerWorkspace.Open(workspace, db);
        using var service = new DatanetService(ws);
        var format = service.Store.RequireDatanet(datanet).Format;
        if (format != DatanetFormat.Documents)
            throw new UserError($"is a '{format.ToString().ToLowerInvariant()}' datanet; rag needs a 'documents' one", field: "--datanet",
                hint: "mledger datanet create NAME --format documents");
        var (root, count, recorded) = service.Current(datanet);
        var documents = service.Store.Items(datanet, count).Select((item, row) => Document(row, item)).ToArray();
        return new DocumentSet(documents, root, recorded?.LeafHash);
    }

    /// <summary>A documents item's content is the canonical {"text","title"} object intake stored and signed.</summary>
    private static RagDocument Document(int row, ItemRow item)
    {
        var record = JsonNode.Parse(item.Content)!.AsObject();
        return new RagDocument(row, item.Item, item.Contributor, record["title"]?.GetValue<string>() ?? "",
            record["text"]!.GetValue<string>());
    }
}
