using StackExchange.Redis;
using Streaming.Ingest.Sessions;

namespace Streaming.Ingest;

/// <summary>
/// Call claims in Redis, shared by every ingest instance: one hash per call, <c>P{T/C}:claim</c> (the call's hash slot),
/// with <c>state</c> (live, parked, ended), <c>holder</c> (the session holding or parking it) and, while parked,
/// <c>position</c> (JSON <see cref="CallPosition"/>). Its TTL is the claim's: renewed while live, the resume window while
/// parked, the retention once ended. Each transition is one Lua script, so two instances never both win a call id.
/// </summary>
public sealed class RedisCallClaims(IConnectionMultiplexer redis, string keyPrefix) : ICallClaims
{
    // ARGV: expected state, expected holder, new state ('released': the key goes), TTL in ms, new position. Returns the old position ('' if none), nil if not held.
    private const string Transition = """
        local v = redis.call('HMGET', KEYS[1], 'state', 'holder', 'position')
        if v[1] ~= ARGV[1] or v[2] ~= ARGV[2] then return nil end
        if ARGV[3] == 'released' then
          redis.call('DEL', KEYS[1])
          return ''
        end
        if ARGV[3] == 'ended' then
          redis.call('DEL', KEYS[1])
          redis.call('HSET', KEYS[1], 'state', 'ended')
        elseif ARGV[3] ~= ARGV[1] then
          redis.call('HSET', KEYS[1], 'state', ARGV[3], 'position', ARGV[5])
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return v[3] or ''
        """;

    // ARGV: holder, TTL in ms. Returns {previous state or 'new', position or ''}; only a new or parked call is taken.
    private const string Claim = """
        local s = redis.call('HGET', KEYS[1], 'state')
        if s == 'live' or s == 'ended' then return {s, ''} end
        local p = redis.call('HGET', KEYS[1], 'position') or ''
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'state', 'live', 'holder', ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return {s or 'new', p}
        """;

    public async Task<CallClaim> ClaimAsync(string tenant, string callId, string holder, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(Claim, [Key(tenant, callId)], [holder, Ms(ttl)]).ConfigureAwait(false))!;
        return (string?)result[0] switch
        {
            "new" => new CallClaim(ClaimOutcome.New),
            "parked" => new CallClaim(ClaimOutcome.Resumed, CallPosition.FromJson((string)result[1]!)),
            "live" => new CallClaim(ClaimOutcome.InProgress),
            _ => new CallClaim(ClaimOutcome.Ended),
        };
    }

    public async Task<bool> RenewAsync(string tenant, string callId, string holder, TimeSpan ttl, CancellationToken cancellationToken) =>
        await TransitionAsync(tenant, callId, "live", holder, "live", ttl, "").ConfigureAwait(false) is not null;

    public Task ParkAsync(string tenant, string callId, string holder, CallPosition position, TimeSpan ttl, CancellationToken cancellationToken) =>
        TransitionAsync(tenant, callId, "live", holder, "parked", ttl, position.ToJson());

    public async Task<bool> IsParkedAsync(string tenant, string callId, string holder, CancellationToken cancellationToken)
    {
        var values = await redis.GetDatabase().HashGetAsync(Key(tenant, callId), ["state", "holder"]).ConfigureAwait(false);
        return values[0] == "parked" && values[1] == holder;
    }

    public async Task<CallPosition?> EndParkedAsync(string tenant, string callId, string holder, TimeSpan retention, CancellationToken cancellationToken) =>
        await TransitionAsync(tenant, callId, "parked", holder, "ended", retention, "").ConfigureAwait(false) is { Length: > 0 } json ? CallPosition.FromJson(json) : null;

    public Task EndAsync(string tenant, string callId, string holder, TimeSpan retention, CancellationToken cancellationToken) =>
        TransitionAsync(tenant, callId, "live", holder, "ended", retention, "");

    public Task ReleaseAsync(string tenant, string callId, string holder, CancellationToken cancellationToken) =>
        TransitionAsync(tenant, callId, "live", holder, "released", TimeSpan.Zero, "");

    private async Task<string?> TransitionAsync(string tenant, string callId, string state, string holder, string next, TimeSpan ttl, string position)
    {
        var result = await redis.GetDatabase().ScriptEvaluateAsync(Transition, [Key(tenant, callId)], [state, holder, next, Ms(ttl), position]).ConfigureAwait(false);
        return result.IsNull ? null : (string?)result;
    }

    private RedisKey Key(string tenant, string callId) => $"{keyPrefix}{{{tenant}/{callId}}}:claim";

    private static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;
}
