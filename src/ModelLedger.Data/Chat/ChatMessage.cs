namespace ModelLedger.Data.Chat;

/// <summary>Who speaks a chat turn.</summary>
public enum ChatRole { System, User, Assistant }

/// <summary>One turn of a conversation: datasets read them, templates render them, the chat loop and the server's
/// OpenAI endpoint pass them on. Torch-free so request validation needs no libtorch.</summary>
public sealed record ChatMessage(ChatRole Role, string Content);
