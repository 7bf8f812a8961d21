using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using ModelLedger.Ledger;
using ModelLedger.Rewards.Metering;
using ModelLedger.Server.Keys;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Billing;

/// <summary>Admission with API keys and billing (docs/server.md): <c>Authorization: Bearer KEY</c> (401 without a live
/// key), a token bucket per key (429 with Retry-After), then Rewards' quote for the prompt plus max_tokens against the
/// key's account (402 when short; nothing generated). After generating, the real counts are metered (fee transfer,
/// <c>inference</c> and <c>attribution</c> events) through the group-commit queue: concurrent calls share commits.
/// When the adapter has a gradient index, the call is acknowledged once its fee and inference event are durable and
/// its training attribution follows from the <see cref="AttributionQueue"/>. The
/// inference id comes from the client's <c>Idempotency-Key</c> (scoped to the key's account), so a retried call is
/// billed once — and since generation is seeded (the request's seed, else the model's default) it regenerates the same
/// answer. A retry of a call already billed skips the quote.</summary>
internal sealed class BilledAdmission(ApiKeyStore keys, MeteringPool meters, GroupCommitQueue commits,
    ServerLimits limits, AttributionHooks hooks, AttributionQueue attributions) : Admission, IDisposable
{
    private readonly PartitionedRateLimiter<string> _rate = PartitionedRateLimiter.Create<string, string>(id =>
        RateLimitPartition.GetTokenBucketLimiter(id, _ => new TokenBucketRateLimiterOptions
        {
            // Bursts up to a minute's worth, refilled one request at a time (every 60 / rate seconds).
            TokenLimit = limits.RequestsPerMinute, TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1.0 / limits.RequestsPerMinute), QueueLimit = 0,
            AutoReplenishment = true,
        }));

    public override ApiKey? Authenticate(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
            throw ApiError.Unauthorized("no API key given: send Authorization: Bearer KEY (mledger serve keys create)");
        var key = keys.Find(header["Bearer ".Length..].Trim())
            ?? throw ApiError.Unauthorized("the API key is not valid (unknown, revoked or mistyped)");
        using var lease = _rate.AttemptAcquire(key.Id);
        if (!lease.IsAcquired)
        {
            // The bucket refills continuously: one request's worth takes 60 / rate seconds.
            var after = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait.TotalSeconds
                : 60.0 / limits.RequestsPerMinute;
            throw ApiError.RateLimited($"rate limit reached: this key may make {limits.RequestsPerMinute} " +
                "requests per minute", (int)Math.Ceiling(Math.Max(after, 1)));
        }
        return key;
    }

    public override async Task<AdmittedCall> AdmitAsync(ApiKey? caller, HttpContext http, string model,
        string? adapter, int promptTokens, int maxCompletionTokens)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var inference = InferenceId(caller, http.Request.Headers["Idempotency-Key"].ToString());
        try
        {
            await meters.UseAsync(m =>
            {
                m.Tables.Sync(m.Workspace.Store);
                return m.Tables.ReadInferencePayload(inference) is not null ? null   // a retry: paid already
                    : m.Metering.Reserve(caller.Account, model, adapter, promptTokens, maxCompletionTokens);
            });
        }
        catch (UserError e) { throw ApiError.PaymentRequired(e.Message); }
        return new AdmittedCall(inference, async exchange =>
        {
            var record = new InferenceRecord(inference, model, adapter, null, caller.Account, exchange.PromptTokens,
                exchange.CompletionTokens, new Dictionary<string, double>(), []);
            // A RAG answer: its documents are credited as `mledger rag ask --bill` credits them (the question's id
            // lets settlement count the distinct questions that retrieved a document).
            if (exchange.Documents is var (shares, method, root))
                record = record with
                {
                    Documents = shares, Method = method, IndexRoot = root, Query = AnswerSupport.QueryId(exchange.Prompt),
                };
            // Nothing to attribute (no gradient index): the empty attribution rides the same group commit.
            if (!hooks.Has(adapter))
            {
                await MeterAsync(() => commits.MeterAsync(record));
                return;
            }
            var bill = await MeterAsync(() => commits.MeterUnattributedAsync(record));
            if (!bill.AlreadyBilled) attributions.Enqueue(record, exchange.Prompt, exchange.Completion);
        });
    }

    private static async Task<MeterResult> MeterAsync(Func<Task<MeterResult>> meter)
    {
        try { return await meter(); }
        catch (LedgerError e) when (e.Message.Contains("different content", StringComparison.Ordinal))
        {
            // The same Idempotency-Key reused for a different request: its bill exists with other amounts.
            throw ApiError.BadRequest($"Idempotency-Key already used for a different request ({e.Message})",
                "Idempotency-Key", "idempotency_key_reused");
        }
        catch (LedgerError e)
        {
            // Funds spent by concurrent calls between the quote and now: the transfer would overdraw.
            throw ApiError.PaymentRequired($"the call could not be billed: {e.Message}");
        }
    }

    /// <summary>A client's Idempotency-Key names its call within its own account (two accounts may pick the same
    /// key); without one every call is new.</summary>
    internal static string InferenceId(ApiKey caller, string idempotencyKey)
    {
        if (idempotencyKey.Length == 0) return Guid.NewGuid().ToString("N");
        if (idempotencyKey.Length > 255 || idempotencyKey.Any(char.IsControl))
            throw ApiError.BadRequest("Idempotency-Key must be 1..255 printable characters", "Idempotency-Key");
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{caller.Account}\n{idempotencyKey}"));
        return "idem-" + Convert.ToHexStringLower(hash)[..32];
    }

    public void Dispose() => _rate.Dispose();
}
