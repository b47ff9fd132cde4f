using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// The session layer every ingest protocol calls (native <c>/v1/audio</c>, AudioHook, Twilio), in the ingest service and
/// in <c>serve</c> alike. A protocol adapter authenticates the connection (the tenant), parses its start message and then:
/// <code>
/// await using var session = sessions.Start(new SessionStart(tenant, callId, 8000, SampleEncoding.MuLaw, [Customer, Agent]));
/// await session.AudioAsync(interleavedFrames, ct);        // or ChannelAudioAsync(channel, samples, ct) per track
/// await session.AdvanceAsync(TimeSpan.FromSeconds(3), ct); // a pause or discarded stretch: timeline times stay call times
/// await session.StopAsync(ct);                            // also when the connection drops: the streams end
/// </code>
/// Start refuses (with an <see cref="IngestProtocolException"/> whose code the adapter maps to its protocol) a bad start,
/// a call id the tenant already streams, and a tenant at its concurrent-session limit. Disposing the session frees its slot.
/// </summary>
public sealed class IngestSessions(IAudioSinkFactory sinks, IOptions<IngestOptions> options)
{
    private static readonly Meter Meter = new("Streaming.Ingest");
    private static readonly UpDownCounter<long> ActiveCalls = Meter.CreateUpDownCounter<long>("streaming.ingest.active_calls", "{call}");

    private readonly ConcurrentDictionary<(string Tenant, string CallId), CallSession> _calls = new();
    private readonly ConcurrentDictionary<string, int> _perTenant = new(StringComparer.Ordinal);

    /// <summary>Calls closed for bad input or a limit, by every protocol.</summary>
    public static Counter<long> Rejected { get; } = Meter.CreateCounter<long>("streaming.ingest.rejected_calls", "{call}", "Calls refused or closed for bad input");

    public IngestOptions Options => options.Value;

    /// <summary>Live sessions of a tenant on this instance.</summary>
    public int ActiveSessions(string tenant) => _perTenant.GetValueOrDefault(tenant);

    /// <exception cref="IngestProtocolException">a bad start, a duplicate call id of the tenant, too many sessions of the tenant</exception>
    public CallSession Start(SessionStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.Validate();
        var tenant = start.Tenant;
        if (_perTenant.AddOrUpdate(tenant.Id, 1, (_, n) => n + 1) > tenant.MaxConcurrentSessions)
        {
            Release(tenant.Id);
            throw new IngestProtocolException(CloseCodes.TooManySessions, $"tenant has {tenant.MaxConcurrentSessions} calls streaming already (its limit)");
        }
        CallSession? session = null;
        try
        {
            session = new CallSession(start, sinks.Open(), options.Value.ChunkSamples, this);
            if (!_calls.TryAdd((tenant.Id, start.CallId), session))
                throw new IngestProtocolException(CloseCodes.CallInProgress, $"call '{start.CallId}' is already streaming");
        }
        catch
        {
            session?.DisposeBuffers();
            Release(tenant.Id);
            throw;
        }
        ActiveCalls.Add(1);
        return session;
    }

    internal void End(CallSession session)
    {
        if (_calls.TryRemove(new KeyValuePair<(string, string), CallSession>((session.Tenant.Id, session.CallId), session)))
        {
            Release(session.Tenant.Id);
            ActiveCalls.Add(-1);
        }
    }

    private void Release(string tenant)
    {
        // Drops the entry at zero so a tenant's count does not outlive its calls.
        if (_perTenant.AddOrUpdate(tenant, 0, (_, n) => n - 1) <= 0) _perTenant.TryRemove(new KeyValuePair<string, int>(tenant, 0));
    }
}
