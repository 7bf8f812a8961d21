namespace ModelLedger.Engine.Generation;

/// <summary>A clock stopped at one UTC instant, local time = UTC, for templates that call strftime_now.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}
