using ModelLedger.Testing;

namespace ModelLedger.Engine;

/// <summary>Tests that load bf16/fp16 models change libtorch's process-wide default dtype while a model is built;
/// in this collection they run with no other test beside them, so no concurrent test creates tensors of that dtype.</summary>
[CollectionDefinition(Collections.TorchRng, DisableParallelization = true)]
public sealed class TorchGlobalsCollection;
