using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>The ingest protocols, as the bounded values of the <c>protocol</c> metric tag.</summary>
public enum IngestProtocol { Native, AudioHook, Twilio }

/// <summary>
/// The session layer every ingest protocol calls (native <c>/v1/audio</c>, AudioHook, Twilio), in the ingest service and
/// in <c>serve</c> alike. A protocol adapter authenticates the request (the tenant), then:
/// <code>
/// using var socket = await sessions.AcceptAsync(context);   // null: refused with 503 (instance full or draining)
/// if (socket is null) return Results.Empty;
/// var (type, message) = await socket.ReceiveAsync(ct);      // throws IngestProtocolException: too big, idle, or 1012 = drain
/// await using var session = await sessions.StartAsync(new SessionStart(tenant, callId, 8000, SampleEncoding.MuLaw, [Customer, Agent]), ct);
/// await session.AudioAsync(interleavedFrames, ct);         // or ChannelAudioAsync(channel, samples, ct) per track
/// await session.AdvanceAsync(TimeSpan.FromSeconds(3), ct);  // a pause or discarded stretch: timeline times stay call times
/// await session.StopAsync(ct);                             // the call is over: the streams end
/// await session.HandOverAsync(ct);                         // or: the call goes on elsewhere (drain; disposing a live session does it too)
/// IngestSessions.RecordClosed(IngestProtocol.AudioHook, code); // once per connection, with the close code it ended with
/// </code>
/// When the instance drains (SIGTERM), <see cref="SessionSocket.ReceiveAsync"/> throws once with
/// <see cref="CloseCodes.ServiceRestart"/>: the adapter asks its client to reconnect in its protocol's words (native
/// <c>{"type":"reconnect"}</c>, AudioHook <c>reconnect</c>), reads what the client still sends until it closes, and
/// hands the session over. The call continues, at the same stream position, wherever the client reconnects.
/// StartAsync refuses (with an <see cref="IngestProtocolException"/> whose code the adapter maps to its protocol) a bad
/// start, a call id the tenant streams already (on any instance) or ended recently, a tenant at its session limit, and a new
/// call while this instance or the pipeline runs too far behind real time (<see cref="PipelineAdmission"/>; a call resuming is
/// admitted).
/// </summary>
public sealed partial class IngestSessions(IAudioSinkFactory sinks, ICallClaims claims, IOptions<IngestOptions> options, ILogger<IngestSessions> logger,
    TimeProvider? time = null, PipelineAdmission? admission = null)
{
    private static readonly Meter Meter = new("Streaming.Ingest");
    private static readonly UpDownCounter<long> ActiveCalls = Meter.CreateUpDownCounter<long>("streaming.ingest.active_calls", "{call}");
    private static readonly Counter<long> Closed = Meter.CreateCounter<long>("streaming.ingest.sessions_closed", "{session}",
        "WebSocket sessions closed, by protocol and close reason");

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<CallSession, byte> _live = new();
    private readonly ConcurrentDictionary<string, int> _perTenant = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _parked = new();
    private readonly CancellationTokenSource _draining = new();
    private int _connections;

    /// <summary>Calls closed for bad input or a limit, by every protocol.</summary>
    public static Counter<long> Rejected { get; } = Meter.CreateCounter<long>("streaming.ingest.rejected_calls", "{call}", "Calls refused or closed for bad input");

    /// <summary>Counts one closed WebSocket session of <paramref name="protocol"/>, tagged with the close code's name (<see cref="CloseCodes.Name"/>).</summary>
    public static void RecordClosed(IngestProtocol protocol, int closeCode) =>
        Closed.Add(1, new KeyValuePair<string, object?>("protocol", protocol switch
        {
            IngestProtocol.Native => "native",
            IngestProtocol.AudioHook => "audiohook",
            _ => "twilio",
        }), new KeyValuePair<string, object?>("reason", CloseCodes.Name(closeCode)));

    public IngestOptions Options => options.Value;

    /// <summary>Cancelled when the instance starts draining (SIGTERM): sessions hand their calls over, new ones are refused.</summary>
    public CancellationToken Draining => _draining.Token;

    /// <summary>Live sessions of a tenant on this instance.</summary>
    public int ActiveSessions(string tenant) => _perTenant.GetValueOrDefault(tenant);

    /// <summary>
    /// How late audio arrives at this instance: the median over its live sessions of <see cref="CallSession.ArrivalDelay"/>.
    /// An instance (or a pipeline behind it) that cannot keep up reads every session late; the median is not moved by the
    /// odd client whose own network is slow. Zero without sessions. O(sessions), once per admission read.
    /// </summary>
    public TimeSpan ArrivalDelay()
    {
        var delays = _live.Keys.Select(s => s.ArrivalDelay).ToArray();
        if (delays.Length == 0) return TimeSpan.Zero;
        Array.Sort(delays);
        return delays[delays.Length / 2];
    }

    /// <summary>
    /// Accepts the WebSocket of an authenticated request, or answers 503 (with Retry-After) when the instance holds
    /// <see cref="IngestOptions.MaxConnections"/> or is draining; then null. Disposing the socket frees its place.
    /// </summary>
    public async Task<SessionSocket?> AcceptAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Interlocked.Increment(ref _connections) > Options.MaxConnections || _draining.IsCancellationRequested)
        {
            Interlocked.Decrement(ref _connections);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "1";
            return null;
        }
        try
        {
            var webSocket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            return new SessionSocket(webSocket, Options, _draining.Token, () => Interlocked.Decrement(ref _connections));
        }
        catch
        {
            Interlocked.Decrement(ref _connections);
            throw;
        }
    }

    /// <summary>Starts a new call, or resumes one that was handed over (its streams continue at their position).</summary>
    /// <exception cref="IngestProtocolException">a bad start, a call id of the tenant live or recently ended, too many sessions of the tenant, draining,
    /// the pipeline overloaded (a new call; a resumed one goes on)</exception>
    public async Task<CallSession> StartAsync(SessionStart start, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.Validate();
        if (_draining.IsCancellationRequested)
            throw new IngestProtocolException(CloseCodes.ServiceRestart, "the instance is restarting: reconnect to continue the call");
        var tenant = start.Tenant;
        if (_perTenant.AddOrUpdate(tenant.Id, 1, (_, n) => n + 1) > tenant.MaxConcurrentSessions)
        {
            Release(tenant.Id);
            throw new IngestProtocolException(CloseCodes.TooManySessions, $"tenant has {tenant.MaxConcurrentSessions} calls streaming already (its limit)");
        }
        try
        {
            var holder = Guid.NewGuid().ToString("N");
            CallClaim claim;
            try
            {
                claim = await claims.ClaimAsync(tenant.Id, start.CallId, holder, Options.ClaimTtl, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRegistryFailed(logger, e, tenant.Id, start.CallId);
                throw new IngestProtocolException(CloseCodes.TryAgainLater, "the call registry is unreachable: try again later");
            }
            if (claim.Outcome == ClaimOutcome.InProgress)
                throw new IngestProtocolException(CloseCodes.CallInProgress, $"call '{start.CallId}' is already streaming");
            if (claim.Outcome == ClaimOutcome.Ended)
                throw new IngestProtocolException(CloseCodes.CallEnded, $"call '{start.CallId}' has ended: a new call needs a new call id");
            if (claim.Outcome == ClaimOutcome.New && admission is not null && await admission.RefusalAsync(ArrivalDelay).ConfigureAwait(false) is { } overloaded)
            {
                // Not started: the id stays free for the client's retry.
                await claims.ReleaseAsync(tenant.Id, start.CallId, holder, cancellationToken).ConfigureAwait(false);
                throw overloaded;
            }
            var session = new CallSession(start, sinks.Open(), holder, claim.Position, this, _time);
            _live[session] = 0;
            ActiveCalls.Add(1);
            return session;
        }
        catch
        {
            Release(tenant.Id);
            throw;
        }
    }

    /// <summary>Renews the claims of every live session (one timer per instance, run by <see cref="IngestDrain"/>).</summary>
    internal async Task RenewClaimsAsync(CancellationToken cancellationToken)
    {
        foreach (var session in _live.Keys)
        {
            try
            {
                if (!await claims.RenewAsync(session.Tenant.Id, session.CallId, session.Holder, Options.ClaimTtl, cancellationToken).ConfigureAwait(false))
                    LogClaimLost(logger, session.Tenant.Id, session.CallId);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRegistryFailed(logger, e, session.Tenant.Id, session.CallId);
            }
        }
    }

    internal async Task EndAsync(CallSession session, CancellationToken cancellationToken)
    {
        _live.TryRemove(session, out _);
        await claims.EndAsync(session.Tenant.Id, session.CallId, session.Holder, Options.EndedCallRetention, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Parks a handed-over call and ends it after the resume window unless another session resumed it.</summary>
    internal async Task ParkAsync(CallSession session, CallPosition position, CancellationToken cancellationToken)
    {
        _live.TryRemove(session, out _);
        await claims.ParkAsync(session.Tenant.Id, session.CallId, session.Holder, position, Options.ResumeWindow + Options.ClaimTtl, cancellationToken).ConfigureAwait(false);
        LogParked(logger, session.Tenant.Id, session.CallId, position.Seconds);
        var expiry = EndUnlessResumedAsync(session.Tenant.Id, session.CallId, session.Holder);
        _parked[expiry] = 0;
        _ = expiry.ContinueWith(t => _parked.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>A live session disposed without stop or hand-over: its connection dropped. The client may resume the call.</summary>
    internal async Task HandOverDroppedAsync(CallSession session)
    {
        using var timeout = new CancellationTokenSource(Options.ClaimTtl);
        try
        {
            await session.HandOverAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogHandOverFailed(logger, e, session.Tenant.Id, session.CallId);
        }
    }

    private async Task EndUnlessResumedAsync(string tenant, string callId, string holder)
    {
        try
        {
            var deadline = _time.GetTimestamp();
            while (_time.GetElapsedTime(deadline) < Options.ResumeWindow)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), _time).ConfigureAwait(false);
                if (!await claims.IsParkedAsync(tenant, callId, holder, CancellationToken.None).ConfigureAwait(false)) return; // resumed
            }
            var position = await claims.EndParkedAsync(tenant, callId, holder, Options.EndedCallRetention, CancellationToken.None).ConfigureAwait(false);
            if (position is null) return;
            // Nobody resumed it: an empty final chunk at each stream's position ends the streams downstream.
            var sink = sinks.Open();
            foreach (var stream in position.Streams)
            {
                await sink.PublishAsync(new AudioChunk(new StreamKey(tenant, callId, stream.Speaker), stream.Role, stream.Sequence, stream.Samples,
                    Pipeline.CallIngestor.CanonicalRate, [], true, _time.GetUtcNow()), CancellationToken.None).ConfigureAwait(false);
            }
            using var timeout = new CancellationTokenSource(Options.ClaimTtl);
            await sink.DeliveredAsync(timeout.Token).ConfigureAwait(false);
            LogNotResumed(logger, tenant, callId, position.Seconds);
        }
        catch (Exception e)
        {
            LogHandOverFailed(logger, e, tenant, callId);
        }
    }

    /// <summary>Starts draining: sessions are told (their sockets' receive throws 1012) and no new connection or call is taken.</summary>
    internal void BeginDrain()
    {
        LogDraining(logger, _live.Count);
        _draining.Cancel();
    }

    /// <summary>Waits until every parked call of this instance was resumed elsewhere or ended (bounded by the resume window).</summary>
    internal Task WaitParkedAsync(CancellationToken cancellationToken) => Task.WhenAll(_parked.Keys).WaitAsync(cancellationToken);

    internal void Release(CallSession session)
    {
        _live.TryRemove(session, out _);
        if (session.Counted)
        {
            session.Counted = false;
            Release(session.Tenant.Id);
            ActiveCalls.Add(-1);
        }
    }

    private void Release(string tenant)
    {
        // Drops the entry at zero so a tenant's count does not outlive its calls.
        if (_perTenant.AddOrUpdate(tenant, 0, (_, n) => n - 1) <= 0) _perTenant.TryRemove(new KeyValuePair<string, int>(tenant, 0));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: the call registry failed")]
    private static partial void LogRegistryFailed(ILogger logger, Exception error, string tenant, string callId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: the claim was lost (another session holds the call id now)")]
    private static partial void LogClaimLost(ILogger logger, string tenant, string callId);

    [LoggerMessage(Level = LogLevel.Information, Message = "tenant {Tenant} call {CallId}: handed over at {Seconds:0.00} s; resumable")]
    private static partial void LogParked(ILogger logger, string tenant, string callId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: not resumed within the resume window; streams ended at {Seconds:0.00} s")]
    private static partial void LogNotResumed(ILogger logger, string tenant, string callId, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "tenant {Tenant} call {CallId}: handing the call over failed")]
    private static partial void LogHandOverFailed(ILogger logger, Exception error, string tenant, string callId);

    [LoggerMessage(Level = LogLevel.Information, Message = "draining: {Sessions} live session(s) asked to reconnect; new sessions refused")]
    private static partial void LogDraining(ILogger logger, int sessions);
}
