using System.Text.Json;
using System.Text.Json.Serialization;
using Streaming.Contracts;

namespace Streaming.Ingest.Sessions;

/// <summary>Where one stream of a call stands: the next chunk's sequence number and the samples (8 kHz) published before it.</summary>
public sealed record StreamPosition(
    [property: JsonPropertyName("speaker")] string Speaker,
    [property: JsonPropertyName("role")] SpeakerRole Role,
    [property: JsonPropertyName("sequence")] long Sequence,
    [property: JsonPropertyName("samples")] long Samples);

/// <summary>Where a call stands when its session hands it over: call time so far and every stream's position.</summary>
public sealed record CallPosition(
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("streams")] IReadOnlyList<StreamPosition> Streams)
{
    public string ToJson() => JsonSerializer.Serialize(this, CallPositionJson.Default.CallPosition);

    public static CallPosition FromJson(string json) =>
        JsonSerializer.Deserialize(json, CallPositionJson.Default.CallPosition) ?? throw new JsonException("call position is JSON null");
}

[JsonSerializable(typeof(CallPosition))]
internal sealed partial class CallPositionJson : JsonSerializerContext;

/// <summary>What a claim found: the call is new, resumable (with its position), or not available.</summary>
public enum ClaimOutcome { New, Resumed, InProgress, Ended }

public sealed record CallClaim(ClaimOutcome Outcome, CallPosition? Position = null);

/// <summary>
/// The registry that makes a call id unique per tenant across ingest instances, and carries a handed-over call's position
/// to the instance that resumes it. A call is in one of three states:
/// <list type="bullet">
/// <item><b>live</b>: a session streams it; its holder renews the claim within <see cref="IngestOptions.ClaimTtl"/>;</item>
/// <item><b>parked</b>: its connection dropped or its instance drained; any instance may resume it, from its position,
/// until its parker ends it after <see cref="IngestOptions.ResumeWindow"/>;</item>
/// <item><b>ended</b>: stopped (or never resumed); the id is refused for <see cref="IngestOptions.EndedCallRetention"/>.</item>
/// </list>
/// Redis in the distributed services (several instances), memory in <c>serve</c> and single-instance hosts. Every
/// transition is atomic and names the holder it expects, so a late or duplicate holder changes nothing.
/// </summary>
public interface ICallClaims
{
    /// <summary>Makes <paramref name="holder"/> the call's live holder if it is new or parked.</summary>
    Task<CallClaim> ClaimAsync(string tenant, string callId, string holder, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Extends a live claim; false when <paramref name="holder"/> no longer holds it.</summary>
    Task<bool> RenewAsync(string tenant, string callId, string holder, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Live → parked at <paramref name="position"/>, still named after <paramref name="holder"/> (who ends it if nobody resumes it).</summary>
    Task ParkAsync(string tenant, string callId, string holder, CallPosition position, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>True while the call is parked by <paramref name="holder"/> (false once resumed or ended).</summary>
    Task<bool> IsParkedAsync(string tenant, string callId, string holder, CancellationToken cancellationToken);

    /// <summary>Parked by <paramref name="holder"/> → ended; returns the position to end the streams at, or null when the call was resumed.</summary>
    Task<CallPosition?> EndParkedAsync(string tenant, string callId, string holder, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>Live (held by <paramref name="holder"/>) → ended.</summary>
    Task EndAsync(string tenant, string callId, string holder, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>Live (held by <paramref name="holder"/>) → unknown: a new call refused right after its claim, whose id may be used again.</summary>
    Task ReleaseAsync(string tenant, string callId, string holder, CancellationToken cancellationToken);
}

/// <summary>Claims in this process's memory: one instance (<c>serve</c>, a single ingest), same rules as the Redis registry.</summary>
public sealed class InMemoryCallClaims(TimeProvider? time = null) : ICallClaims
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<(string, string), Entry> _calls = [];
    private readonly Lock _lock = new();
    private DateTimeOffset _nextSweep;

    private sealed record Entry(string State, string? Holder, CallPosition? Position, DateTimeOffset Expires);

    public Task<CallClaim> ClaimAsync(string tenant, string callId, string holder, TimeSpan ttl, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Sweep();
            var entry = Find(tenant, callId);
            var claim = entry?.State switch
            {
                null => new CallClaim(ClaimOutcome.New),
                Parked => new CallClaim(ClaimOutcome.Resumed, entry.Position),
                Live => new CallClaim(ClaimOutcome.InProgress),
                _ => new CallClaim(ClaimOutcome.Ended),
            };
            if (claim.Outcome is ClaimOutcome.New or ClaimOutcome.Resumed) _calls[(tenant, callId)] = new Entry(Live, holder, null, _time.GetUtcNow() + ttl);
            return Task.FromResult(claim);
        }
    }

    public Task<bool> RenewAsync(string tenant, string callId, string holder, TimeSpan ttl, CancellationToken cancellationToken) =>
        Task.FromResult(Transition(tenant, callId, Live, holder, e => e with { Expires = _time.GetUtcNow() + ttl }) is not null);

    public Task ParkAsync(string tenant, string callId, string holder, CallPosition position, TimeSpan ttl, CancellationToken cancellationToken)
    {
        Transition(tenant, callId, Live, holder, e => e with { State = Parked, Position = position, Expires = _time.GetUtcNow() + ttl });
        return Task.CompletedTask;
    }

    public Task<bool> IsParkedAsync(string tenant, string callId, string holder, CancellationToken cancellationToken)
    {
        lock (_lock) return Task.FromResult(Find(tenant, callId) is { State: Parked } e && e.Holder == holder);
    }

    public Task<CallPosition?> EndParkedAsync(string tenant, string callId, string holder, TimeSpan retention, CancellationToken cancellationToken) =>
        Task.FromResult(Transition(tenant, callId, Parked, holder, e => new Entry(Ended, null, null, _time.GetUtcNow() + retention))?.Position);

    public Task EndAsync(string tenant, string callId, string holder, TimeSpan retention, CancellationToken cancellationToken)
    {
        Transition(tenant, callId, Live, holder, e => new Entry(Ended, null, null, _time.GetUtcNow() + retention));
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string tenant, string callId, string holder, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (Transition(tenant, callId, Live, holder, e => e) is not null) _calls.Remove((tenant, callId));
        }
        return Task.CompletedTask;
    }

    private const string Live = "live";
    private const string Parked = "parked";
    private const string Ended = "ended";

    /// <summary>Applies <paramref name="change"/> when the call is in <paramref name="state"/> held by <paramref name="holder"/>; returns the entry before.</summary>
    private Entry? Transition(string tenant, string callId, string state, string holder, Func<Entry, Entry> change)
    {
        lock (_lock)
        {
            if (Find(tenant, callId) is not { } entry || entry.State != state || entry.Holder != holder) return null;
            _calls[(tenant, callId)] = change(entry);
            return entry;
        }
    }

    private Entry? Find(string tenant, string callId) =>
        _calls.TryGetValue((tenant, callId), out var entry) && entry.Expires > _time.GetUtcNow() ? entry : null;

    /// <summary>Forgets expired entries about once a minute, so ended ids do not pile up.</summary>
    private void Sweep()
    {
        var now = _time.GetUtcNow();
        if (now < _nextSweep) return;
        _nextSweep = now.AddMinutes(1);
        foreach (var key in _calls.Where(c => c.Value.Expires <= now).Select(c => c.Key).ToList()) _calls.Remove(key);
    }
}
