using ModelLedger.Server.OpenAi;
using ModelLedger.Testing;

namespace ModelLedger.Server.Jobs;

public sealed class JobBoardTests
{
    [Fact]
    public void Use_WithoutAQueue_Is503()
    {
        // No factory: nothing is opened, not even the workspace (this one does not exist).
        using var board = JobBoard.Open(new ServerOptions
        {
            ModelDirectory = TestPaths.TinyStories, Workspace = "/nonexistent/workspace", JobQueue = null,
        });
        var e = Assert.Throws<ApiError>(() => board.Use(q => q.List()));
        Assert.Equal(503, e.Status);
        Assert.Equal("no_job_queue", e.Body.Error.Code);
    }
}
