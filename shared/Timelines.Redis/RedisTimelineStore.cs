using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;
using Streaming.Contracts;

namespace Streaming.Timelines.Redis;

/// <summary>Redis timeline settings (configuration section "Redis").</summary>
public sealed class RedisOptions : IValidatableObject
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. "127.0.0.1:6379" (no secrets here: see <see cref="Password"/>).</summary>
    [Required(AllowEmptyStrings = false)]
    public string Configuration { get; set; } = "";

    /// <summary>Redis AUTH password (requirepass or an ACL user's), from the environment or a Secret (Redis__Password).</summary>
    public string? Password { get; set; }

    /// <summary>ACL user name (Redis 6+); empty for the default user.</summary>
    public string? User { get; set; }

    /// <summary>Connect over TLS.</summary>
    public bool Tls { get; set; }

    /// <summary>PEM file of the CA that signed the server's certificate, when it is not in the system's trust store.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>The client settings: <see cref="Configuration"/> with the password, user and TLS settings applied.</summary>
    public ConfigurationOptions ToConfigurationOptions()
    {
        var options = ConfigurationOptions.Parse(Configuration);
        if (!string.IsNullOrEmpty(Password)) options.Password = Password;
        if (!string.IsNullOrEmpty(User)) options.User = User;
        if (Tls) options.Ssl = true;
        if (CaCertificatePath is not null) options.TrustIssuer(CaCertificatePath);
        return options;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (CaCertificatePath is null) yield break;
        if (!Tls) yield return new ValidationResult("Redis:CaCertificatePath is set but Redis:Tls is off", [nameof(CaCertificatePath)]);
        if (!File.Exists(CaCertificatePath)) yield return new ValidationResult($"Redis:CaCertificatePath '{CaCertificatePath}' does not exist", [nameof(CaCertificatePath)]);
    }

    /// <summary>Prefix of every key and of the update channel: lets several deployments (or tests) share one Redis.</summary>
    [Required(AllowEmptyStrings = true)]
    public string KeyPrefix { get; set; } = "emo:";

    /// <summary>How long a call's timeline stays after its last update.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>At most this many calls are listed, newest first.</summary>
    [Range(1, 100000)]
    public int MaxListedCalls { get; set; } = 1000;
}

/// <summary>
/// What subscribers of the update channel receive (JSON) after every stored window (index ≥ 0, with the event time of
/// the audio it ends with) or completed stream (index -1, no event time).
/// </summary>
public sealed record TimelineUpdate(string CallId, string Speaker, long Index, bool IsFinal, DateTimeOffset? EventTime, string Tenant);

/// <summary>
/// Timelines in Redis, for the distributed pipeline. Layout (P = key prefix, T = tenant, C = call id; the braces make
/// all keys of a call one cluster hash slot; tenant ids and call ids cannot contain '/', so T/C is unambiguous):
/// <list type="bullet">
/// <item><c>P{T/C}:w:SPEAKER</c>: hash, field = window index, value = the window as JSON. Written with HSETNX: the
/// first write of an index wins, so a redelivered window never adds a point, and a window recomputed during a
/// classifier's warm-up after a takeover (whose vote may lack history) never replaces the one already stored.</item>
/// <item><c>P{T/C}:meta</c>: hash, <c>role:SPEAKER</c> = role, <c>done:SPEAKER</c> = 1 once the stream ended,
/// <c>updated</c> = unix ms of the last write, <c>m:KEY</c> = the call metadata's value of KEY (first write wins).</item>
/// <item><c>Pcalls:T</c>: sorted set of the tenant's call ids scored by last update (unix ms): the index of its active and recent calls.</item>
/// <item><c>Pupdates</c>: pub/sub channel of all tenants, one <see cref="TimelineUpdate"/> (naming its tenant) per write.</item>
/// </list>
/// Every key of a call gets the retention as TTL on each write; index entries older than the retention are pruned.
/// <para>
/// A write stores first and reports whether it stored anything new: a script on the call's hash slot stores the window (or the
/// stream's end) only if it is not stored yet and refreshes the call's TTL. Only a new store is followed by the bookkeeping, in
/// one pipelined round trip: the call's index entry moves to now and one update is published. So a replay (a redelivery, a
/// takeover's re-read, a new consumer group reading from the earliest offset) neither notifies nor moves an old call to the top
/// of the live wall. A window whose event time is older than the retention is refused: its call has expired (or is about to),
/// and a replay must not bring it back for another retention period. A crash between the store and the bookkeeping leaves the
/// call's index entry at its previous update (the call's next write moves it); its keys already carry their TTL.
/// </para>
/// Every write returns only once Redis has acknowledged it (the Kafka host commits after).
/// </summary>
public sealed class RedisTimelineStore(IConnectionMultiplexer redis, RedisOptions options, TimeProvider? time = null) : ITimelineStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly RedisChannel _updates = RedisChannel.Literal(options.KeyPrefix + "updates");

    public RedisChannel UpdatesChannel => _updates;

    /// <summary>Stores the window if its index is not stored yet and its event time is within the retention; true when it did.</summary>
    public async ValueTask<bool> AppendAsync(EmotionWindow window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(window);
        cancellationToken.ThrowIfCancellationRequested();
        var now = _time.GetUtcNow();
        if (window.EventTime != default && now - window.EventTime > options.Retention)
        {
            TimelineInstrumentation.Expired.Add(1);
            return false;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(StoredWindow.From(window), StoreJson.Default.StoredWindow);
        var stream = window.Stream;
        var stored = (long)await redis.GetDatabase().ScriptEvaluateAsync(StoreWindowScript,
            [WindowsKey(stream.Tenant, stream.CallId, stream.Speaker), MetaKey(stream.Tenant, stream.CallId)],
            [window.Index, json, (long)options.Retention.TotalMilliseconds, stream.Speaker, window.Role.ToString(), now.ToUnixTimeMilliseconds()])
            .WaitAsync(cancellationToken).ConfigureAwait(false) == 1;
        if (!stored) return false;
        await AfterStoreAsync(stream, window.Index, window.IsFinal, window.EventTime, now).WaitAsync(cancellationToken).ConfigureAwait(false);
        // First stores only: a redelivered window would count its replay delay, not the pipeline's.
        if (window.EventTime != default) TimelineInstrumentation.Latency.Record((now - window.EventTime).TotalSeconds);
        return true;
    }

    public async ValueTask SetMetadataAsync(string tenant, string callId, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        cancellationToken.ThrowIfCancellationRequested();
        var meta = MetaKey(tenant, callId);
        var batch = redis.GetDatabase().CreateBatch();
        var tasks = metadata.Select(p => (Task)batch.HashSetAsync(meta, MetadataField + p.Key, p.Value, When.NotExists)).ToList();
        tasks.Add(batch.KeyExpireAsync(meta, options.Retention));
        batch.Execute();
        await Task.WhenAll(tasks).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks the stream ended if its call is stored and the stream is not marked yet; true when it did.</summary>
    public async ValueTask<bool> CompleteStreamAsync(StreamKey stream, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = _time.GetUtcNow();
        var ended = (long)await redis.GetDatabase().ScriptEvaluateAsync(EndStreamScript,
            [MetaKey(stream.Tenant, stream.CallId), WindowsKey(stream.Tenant, stream.CallId, stream.Speaker)],
            [stream.Speaker, (long)options.Retention.TotalMilliseconds, now.ToUnixTimeMilliseconds()])
            .WaitAsync(cancellationToken).ConfigureAwait(false) == 1;
        if (ended) await AfterStoreAsync(stream, -1, true, null, now).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ended;
    }

    /// <summary>
    /// KEYS: the stream's windows, the call's meta. ARGV: index, window JSON, retention ms, speaker, role, now (unix ms).
    /// Both keys are in the call's hash slot (a script may touch one slot only on a cluster); the call index is not.
    /// </summary>
    private const string StoreWindowScript = """
        if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        redis.call('HSETNX', KEYS[2], 'role:' .. ARGV[4], ARGV[5])
        redis.call('HSET', KEYS[2], 'updated', ARGV[6])
        redis.call('PEXPIRE', KEYS[2], ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: the call's meta, the stream's windows. ARGV: speaker, retention ms, now (unix ms). No windows of the stream: the call
    /// expired (a stream's final window is always stored before its end), or only its metadata was written again by a replay.
    /// </summary>
    private const string EndStreamScript = """
        if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
        if redis.call('HSETNX', KEYS[1], 'done:' .. ARGV[1], 1) == 0 then return 0 end
        redis.call('HSETNX', KEYS[1], 'role:' .. ARGV[1], 'Unknown')
        redis.call('HSET', KEYS[1], 'updated', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        return 1
        """;

    /// <summary>After a new store: the call's index entry moves to now, old entries are pruned, one update is published.</summary>
    private async Task AfterStoreAsync(StreamKey stream, long index, bool isFinal, DateTimeOffset? eventTime, DateTimeOffset time)
    {
        var now = time.ToUnixTimeMilliseconds();
        var calls = CallsKey(stream.Tenant);
        var batch = redis.GetDatabase().CreateBatch();
        var tasks = new List<Task>(4);
        tasks.Add(batch.SortedSetAddAsync(calls, stream.CallId, now));
        tasks.Add(batch.SortedSetRemoveRangeByScoreAsync(calls, double.NegativeInfinity, now - options.Retention.TotalMilliseconds, Exclude.Stop));
        tasks.Add(batch.KeyExpireAsync(calls, options.Retention));
        var update = new TimelineUpdate(stream.CallId, stream.Speaker, index, isFinal, eventTime, stream.Tenant);
        tasks.Add(batch.PublishAsync(_updates, JsonSerializer.Serialize(update, StoreJson.Default.TimelineUpdate)));
        batch.Execute();
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    public async ValueTask<CallWindows?> GetCallAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(callId);
        var db = redis.GetDatabase();
        var meta = await db.HashGetAllAsync(MetaKey(tenant, callId)).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (meta.Length == 0) return null;
        var info = ReadMeta(meta);
        var batch = db.CreateBatch();
        var reads = info.Roles.Keys.Select(s => batch.HashGetAllAsync(WindowsKey(tenant, callId, s))).ToList();
        batch.Execute();
        await Task.WhenAll(reads).WaitAsync(cancellationToken).ConfigureAwait(false);

        var speakers = new List<SpeakerWindows>(info.Roles.Count);
        var i = 0;
        foreach (var (speaker, role) in info.Roles)
        {
            var stream = new StreamKey(tenant, callId, speaker);
            var windows = reads[i++].Result
                .Select(e => JsonSerializer.Deserialize((byte[])e.Value!, StoreJson.Default.StoredWindow)!.ToWindow(stream, role, (long)e.Name))
                .OrderBy(w => w.Index)
                .ToList();
            speakers.Add(new SpeakerWindows(speaker, role, windows, info.Done.Contains(speaker)));
        }
        return new CallWindows(callId, speakers, info.Metadata);
    }

    public async ValueTask<IReadOnlyList<CallInfo>> ListCallsAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var db = redis.GetDatabase();
        var ids = await db.SortedSetRangeByRankAsync(CallsKey(tenant), 0, options.MaxListedCalls - 1, Order.Descending).WaitAsync(cancellationToken).ConfigureAwait(false);
        var batch = db.CreateBatch();
        var metas = ids.Select(id => batch.HashGetAllAsync(MetaKey(tenant, id!))).ToList();
        batch.Execute();
        await Task.WhenAll(metas).WaitAsync(cancellationToken).ConfigureAwait(false);

        var calls = new List<CallInfo>(ids.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            var meta = metas[i].Result;
            if (meta.Length == 0) continue; // expired; the index entry is pruned on a later write
            var info = ReadMeta(meta);
            var active = info.Roles.Count == 0 || info.Roles.Keys.Any(s => !info.Done.Contains(s));
            calls.Add(new CallInfo(ids[i]!, [.. info.Roles.Keys], active, DateTimeOffset.FromUnixTimeMilliseconds(info.Updated), info.Metadata));
        }
        return calls;
    }

    /// <summary>
    /// Deletes the call's windows of every speaker and its meta hash in one DEL (they share the call's hash slot) and removes it
    /// from the tenant's index. The speakers are those the meta hash names: every write of a window records its speaker there.
    /// </summary>
    public async ValueTask<bool> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(callId);
        var db = redis.GetDatabase();
        var meta = MetaKey(tenant, callId);
        var fields = await db.HashKeysAsync(meta).WaitAsync(cancellationToken).ConfigureAwait(false);
        RedisKey[] keys = [meta, .. fields.Select(f => (string)f!).Where(f => f.StartsWith("role:", StringComparison.Ordinal)).Select(f => WindowsKey(tenant, callId, f[5..]))];
        var batch = db.CreateBatch();
        var deleted = batch.KeyDeleteAsync(keys);
        var unlisted = batch.SortedSetRemoveAsync(CallsKey(tenant), callId);
        batch.Execute();
        await Task.WhenAll(deleted, unlisted).WaitAsync(cancellationToken).ConfigureAwait(false);
        return await deleted.ConfigureAwait(false) > 0 || await unlisted.ConfigureAwait(false);
    }

    private RedisKey MetaKey(string tenant, string callId) => $"{options.KeyPrefix}{{{tenant}/{callId}}}:meta";

    private RedisKey WindowsKey(string tenant, string callId, string speaker) => $"{options.KeyPrefix}{{{tenant}/{callId}}}:w:{speaker}";

    private RedisKey CallsKey(string tenant) => $"{options.KeyPrefix}calls:{tenant}";

    private const string MetadataField = "m:";

    private static (SortedDictionary<string, SpeakerRole> Roles, HashSet<string> Done, long Updated, Dictionary<string, string> Metadata) ReadMeta(HashEntry[] meta)
    {
        var roles = new SortedDictionary<string, SpeakerRole>(StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        long updated = 0;
        foreach (var entry in meta)
        {
            var name = (string)entry.Name!;
            if (name.StartsWith("role:", StringComparison.Ordinal))
                roles[name[5..]] = Enum.TryParse<SpeakerRole>((string?)entry.Value, out var role) ? role : SpeakerRole.Unknown;
            else if (name.StartsWith("done:", StringComparison.Ordinal)) done.Add(name[5..]);
            else if (name.StartsWith(MetadataField, StringComparison.Ordinal)) metadata[name[MetadataField.Length..]] = (string)entry.Value!;
            else if (name == "updated") updated = long.Parse((string)entry.Value!, CultureInfo.InvariantCulture);
        }
        return (roles, done, updated, metadata);
    }
}

/// <summary>A window as stored: what the key does not already say (call, speaker and index are in the key and field).</summary>
internal sealed record StoredWindow(
    [property: JsonPropertyName("start")] double Start,
    [property: JsonPropertyName("end")] double End,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("voted")] string VotedLabel,
    [property: JsonPropertyName("confidence")] float Confidence,
    [property: JsonPropertyName("probabilities")] float[] Probabilities,
    [property: JsonPropertyName("final")] bool IsFinal,
    [property: JsonPropertyName("eventTime")] DateTimeOffset EventTime)
{
    public static StoredWindow From(EmotionWindow w) => new(w.StartSeconds, w.EndSeconds, w.Label, w.VotedLabel, w.Confidence, w.Probabilities, w.IsFinal, w.EventTime);

    public EmotionWindow ToWindow(StreamKey stream, SpeakerRole role, long index) =>
        new(stream, role, index, Start, End, Label, VotedLabel, Confidence, Probabilities, IsFinal, EventTime);
}

[JsonSerializable(typeof(StoredWindow))]
[JsonSerializable(typeof(TimelineUpdate))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class StoreJson : JsonSerializerContext;
