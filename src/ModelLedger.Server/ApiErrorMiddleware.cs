using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server;

/// <summary>Writes a refused request in OpenAI's error shape: an <see cref="ApiError"/> with its status, a
/// <see cref="UserError"/> (bad sampling values the engine caught, a bad config or policy) and a refused ledger
/// request (<see cref="Ledger.LedgerError"/>, e.g. a proof outside the log) as 400, as is a malformed route or query
/// value. Anything else is a 500 without internals.
/// Once a stream has started there is no status left to set: the connection is closed instead.</summary>
internal sealed class ApiErrorMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext http)
    {
        ApiError? error;
        try
        {
            await next(http);
            return;
        }
        catch (ApiError e) { error = e; }
        catch (UserError e) { error = ApiError.BadRequest(e.Describe(), e.Field); }
        catch (Ledger.LedgerError e) { error = ApiError.BadRequest(e.Message); }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested) { return; }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == 413)
        {
            error = new ApiError(413, "the request body is too large", "invalid_request_error", "request_too_large");
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) { error = ApiError.BadRequest(e.Message); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {http.Request.Path}: {e}");
            error = new ApiError(500, "the server failed to answer this request", "server_error");
        }
        if (http.Response.HasStarted)
        {
            http.Abort();
            return;
        }
        http.Response.Clear();
        if (error.RetryAfterSeconds is int seconds)
            http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await OpenAi.CompletionHandler.WriteJsonAsync(http.Response, error.Body, error.Status);
    }
}
