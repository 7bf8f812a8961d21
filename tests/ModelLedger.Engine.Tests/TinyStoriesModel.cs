using ModelLedger.Engine.Models;

namespace ModelLedger.Testing;

/// <summary>TinyStories-656K loaded once per test class (IClassFixture). Tests must not change its weights.</summary>
public sealed class TinyStoriesModel : IDisposable
{
    public PretrainedModel Model { get; } = PretrainedModel.Load(TestPaths.TinyStories);

    public void Dispose() => Model.Dispose();
}
