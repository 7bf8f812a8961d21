using ModelLedger.Testing;

namespace ModelLedger.Tuning;

[CollectionDefinition(Collections.TorchRng, DisableParallelization = true)]
public sealed class TorchRngCollection;
