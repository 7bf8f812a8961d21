using ModelLedger.Engine.Models;
using ModelLedger.Testing;

namespace ModelLedger.Attribution;

/// <summary>TinyStories-656K loaded once per test class (IClassFixture). Tests must not change its weights.</summary>
public sealed class TinyStories : IDisposable
{
    internal PretrainedModel Model { get; } = PretrainedModel.Load(TestPaths.TinyStories);

    public void Dispose() => Model.Dispose();
}
