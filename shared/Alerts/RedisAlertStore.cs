using System.Text.Json;
using StackExchange.Redis;

namespace Streaming.Alerts;

/// <summary>
/// Alerts in Redis, beside the call's timeline. Layout (P = key prefix, T = tenant, C = call id):
/// <c>P{T:C}:alerts</c>, a hash of alert id → the alert as JSON, with the timeline's retention as TTL. Adding is HSETNX (idempotent);
/// every change is also published on <c>Palerts</c> (the alert as JSON) for live views on any instance.
/// </summary>
public sealed class RedisAlertStore(IConnectionMultiplexer redis, string keyPrefix, TimeSpan retention, TimeProvider? time = null) : IAlertStore
{
    // Acknowledge only an existing alert, once: HGET, then HSET of the acknowledged copy only while the stored one is unacknowledged.
    private const string AcknowledgeScript = """
        local stored = redis.call('HGET', KEYS[1], ARGV[1])
        if not stored then return false end
        local alert = cjson.decode(stored)
        if alert['acknowledged'] then return stored end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return ARGV[2]
        """;

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public RedisChannel Channel { get; } = RedisChannel.Literal(keyPrefix + "alerts");

    public async ValueTask<bool> AddAsync(Alert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var db = redis.GetDatabase();
        var key = Key(alert.Tenant, alert.CallId);
        var json = JsonSerializer.Serialize(alert, AlertJson.Default.Alert);
        var batch = db.CreateBatch();
        var added = batch.HashSetAsync(key, alert.Id, json, When.NotExists);
        var expire = batch.KeyExpireAsync(key, retention);
        batch.Execute();
        await Task.WhenAll(added, expire).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (added.Result) await db.PublishAsync(Channel, json).WaitAsync(cancellationToken).ConfigureAwait(false);
        return added.Result;
    }

    public async ValueTask<IReadOnlyList<Alert>> ListAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        var entries = await redis.GetDatabase().HashValuesAsync(Key(tenant, callId)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return [.. entries.Select(e => JsonSerializer.Deserialize((string)e!, AlertJson.Default.Alert)!).OrderBy(a => a.Time)];
    }

    public async ValueTask<Alert?> AcknowledgeAsync(string tenant, string callId, string alertId, string by, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var key = Key(tenant, callId);
        var stored = await db.HashGetAsync(key, alertId).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (stored.IsNull) return null;
        var alert = JsonSerializer.Deserialize((string)stored!, AlertJson.Default.Alert)!;
        if (alert.Acknowledged) return alert;
        var acknowledged = JsonSerializer.Serialize(alert with { Acknowledged = true, AcknowledgedBy = by, AcknowledgedAt = _time.GetUtcNow() }, AlertJson.Default.Alert);
        var result = (string?)await db.ScriptEvaluateAsync(AcknowledgeScript, [key], [alertId, acknowledged]).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (result is null) return null;
        if (result == acknowledged) await db.PublishAsync(Channel, acknowledged).WaitAsync(cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(result, AlertJson.Default.Alert);
    }

    public async ValueTask<int> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        var key = Key(tenant, callId);
        // MULTI/EXEC: the count is of exactly the alerts deleted.
        var transaction = redis.GetDatabase().CreateTransaction();
        var count = transaction.HashLengthAsync(key);
        var deleted = transaction.KeyDeleteAsync(key);
        await transaction.ExecuteAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(count, deleted).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (int)await count.ConfigureAwait(false);
    }

    private RedisKey Key(string tenant, string callId) => $"{keyPrefix}{{{tenant}:{callId}}}:alerts";
}
