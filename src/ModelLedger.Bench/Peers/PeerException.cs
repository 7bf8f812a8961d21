namespace ModelLedger.Bench.Peers;

/// <summary>A peer could not be installed or run (tool missing, npm or the script failed, a report it could not
/// give). The benchmark reports it in one line and keeps its own rows.</summary>
public sealed class PeerException(string message, Exception? inner = null) : Exception(message, inner);
