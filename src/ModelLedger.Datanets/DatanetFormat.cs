using System.Text.Json.Nodes;

namespace ModelLedger.Datanets;

/// <summary>The record shape a datanet holds; each is one LLaMA-Factory dataset shape.</summary>
public enum DatanetFormat { Alpaca, ShareGpt, Text, Documents }

internal static class DatanetFormats
{
    public static string Name(this DatanetFormat format) => format switch
    {
        DatanetFormat.Alpaca => "alpaca",
        DatanetFormat.ShareGpt => "sharegpt",
        DatanetFormat.Text => "text",
        _ => "documents",
    };

    public static DatanetFormat Parse(string text) => text switch
    {
        "alpaca" => DatanetFormat.Alpaca,
        "sharegpt" => DatanetFormat.ShareGpt,
        "text" => DatanetFormat.Text,
        "documents" => DatanetFormat.Documents,
        _ => throw new UserError($"unknown format '{text}'", field: "--format",
            hint: "use alpaca, sharegpt, text or documents"),
    };

    /// <summary>The record fields in canonical order (the keys of a data.jsonl line).</summary>
    public static string[] Fields(this DatanetFormat format) => format switch
    {
        DatanetFormat.Alpaca => ["instruction", "input", "output"],
        DatanetFormat.ShareGpt => ["conversations"],
        DatanetFormat.Text => ["text"],
        _ => ["title", "text"],
    };

    /// <summary>Largest canonical record in bytes: documents are whole files, the others single examples.</summary>
    public static int MaxRecordBytes(this DatanetFormat format) =>
        format == DatanetFormat.Documents ? 1 << 20 : 64 << 10;

    /// <summary>The snapshot's dataset_info.json entry, so LLaMA-Factory (and <c>mledger train</c>) reads data.jsonl.
    /// Text and documents train on their text column (pre-training shape); documents' titles are provenance.</summary>
    public static JsonObject DatasetInfoEntry(this DatanetFormat format) => format switch
    {
        DatanetFormat.Alpaca => new JsonObject
        {
            ["file_name"] = "data.jsonl",
            ["columns"] = new JsonObject { ["prompt"] = "instruction", ["query"] = "input", ["response"] = "output" },
        },
        DatanetFormat.ShareGpt => new JsonObject
        {
            ["file_name"] = "data.jsonl",
            ["formatting"] = "sharegpt",
            ["columns"] = new JsonObject { ["messages"] = "conversations" },
            ["tags"] = new JsonObject
            {
                ["role_tag"] = "from", ["content_tag"] = "value", ["user_tag"] = "human", ["assistant_tag"] = "gpt",
            },
        },
        _ => new JsonObject { ["file_name"] = "data.jsonl", ["columns"] = new JsonObject { ["prompt"] = "text" } },
    };
}
