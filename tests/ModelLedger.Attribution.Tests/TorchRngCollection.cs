using ModelLedger.Testing;

namespace ModelLedger.Attribution;

[CollectionDefinition(Collections.TorchRng, DisableParallelization = true)]
public sealed class TorchRngCollection;
