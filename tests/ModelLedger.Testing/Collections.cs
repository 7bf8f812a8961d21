namespace ModelLedger.Testing;

/// <summary>Collection names for tests that use libtorch's process-wide RNG (dropout masks): they run alone so no
/// other test draws from the generator between a seed and its use.</summary>
public static class Collections
{
    public const string TorchRng = "torch-rng";
}
