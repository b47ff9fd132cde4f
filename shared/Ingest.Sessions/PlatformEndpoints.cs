using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Streaming.Platforms;
using Streaming.Platforms.AudioHook;
using Streaming.Platforms.Twilio;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// Genesys AudioHook (<c>/v1/audiohook</c>) and Twilio Media Streams (<c>/v1/twilio/{tenant}</c>) on the shared session
/// layer. The protocol rules live in the pure state machines of Streaming.Platforms; this file only carries their
/// actions out on the socket and the <see cref="IngestSessions"/> call (docs/platforms.md).
/// </summary>
public static partial class PlatformEndpoints
{
    public const string AudioHookPath = "/v1/audiohook";
    public const string TwilioPath = "/v1/twilio/{tenant}";

    /// <summary>After the server's <c>disconnect</c> the client has this long to run its close transaction before the server closes.</summary>
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(10);

    public static IEndpointRouteBuilder MapPlatformEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map(AudioHookPath, async (HttpContext context, IngestSessions sessions, ILogger<AudioHookSession> logger) =>
        {
            if (!context.WebSockets.IsWebSocketRequest) return Results.Problem($"{AudioHookPath} takes WebSocket connections only", statusCode: 400);
            var headers = context.Request.Headers;
            var protocol = new AudioHookSession(headers["Audiohook-Session-Id"].ToString(), headers["Audiohook-Organization-Id"].ToString());
            using var socket = await sessions.AcceptAsync(context); // null: 503 (instance full or draining)
            if (socket is not null) await new Connection(socket, context.GetTenant()!, sessions, new AudioHookAdapter(protocol), logger).RunAsync(CancellationToken.None);
            return Results.Empty;
        }).RequireAuthorization(PlatformAuthentication.AudioHookScheme);

        endpoints.Map(TwilioPath, async (HttpContext context, IngestSessions sessions, ILogger<TwilioMediaStream> logger) =>
        {
            if (!context.WebSockets.IsWebSocketRequest) return Results.Problem("/v1/twilio takes WebSocket connections only", statusCode: 400);
            var tenant = context.GetTenant()!;
            using var socket = await sessions.AcceptAsync(context); // null: 503 (instance full or draining)
            if (socket is not null) await new Connection(socket, tenant, sessions, new TwilioAdapter(new TwilioMediaStream(tenant.TwilioTrackRoles)), logger).RunAsync(CancellationToken.None);
            return Results.Empty;
        }).RequireAuthorization(PlatformAuthentication.TwilioScheme);
        return endpoints;
    }

    /// <summary>What differs between the two protocols at the socket: how input reaches the state machine, how a refusal is said.</summary>
    private interface IProtocolAdapter
    {
        string Name { get; }
        IngestProtocol Kind { get; }
        /// <summary>The platform's ids of this connection, for log lines.</summary>
        string Ids { get; }
        /// <summary>The server asked the client to end the session and waits for it to do so (AudioHook after <c>disconnect</c>).</summary>
        bool AwaitingClientClose { get; }
        IReadOnlyList<PlatformAction> Text(ReadOnlyMemory<byte> message);
        IReadOnlyList<PlatformAction> Binary(ReadOnlyMemory<byte> message);
        IReadOnlyList<PlatformAction> ConnectionLost();
        /// <summary>The session layer refused the call, or the connection broke a limit: say so in the protocol's terms.</summary>
        IReadOnlyList<PlatformAction> Refuse(int code, string reason);
        /// <summary>The instance drains: ask the client to move the session (AudioHook <c>reconnect</c>); empty where the protocol cannot.</summary>
        IReadOnlyList<PlatformAction> Reconnect();
    }

    private sealed class AudioHookAdapter(AudioHookSession session) : IProtocolAdapter
    {
        public string Name => "audiohook";
        public IngestProtocol Kind => IngestProtocol.AudioHook;
        public string Ids => $"session {session.SessionId} conversation {session.ConversationId ?? "(not open)"}";
        public bool AwaitingClientClose => session.State == AudioHookState.Disconnecting;
        public IReadOnlyList<PlatformAction> Text(ReadOnlyMemory<byte> message) => session.OnText(message);
        public IReadOnlyList<PlatformAction> Binary(ReadOnlyMemory<byte> message) => session.OnBinary(message);
        public IReadOnlyList<PlatformAction> ConnectionLost() => session.OnConnectionLost();
        // AudioHook's server never closes first: it sends disconnect and the client runs the close transaction.
        public IReadOnlyList<PlatformAction> Refuse(int code, string reason) => session.Disconnect("error", reason);
        public IReadOnlyList<PlatformAction> Reconnect() => session.Reconnect("the server is restarting");
    }

    private sealed class TwilioAdapter(TwilioMediaStream stream) : IProtocolAdapter
    {
        public string Name => "twilio";
        public IngestProtocol Kind => IngestProtocol.Twilio;
        public string Ids => $"call {stream.CallId ?? "(not started)"} stream {stream.StreamSid ?? "-"}";
        public bool AwaitingClientClose => false;
        public IReadOnlyList<PlatformAction> Text(ReadOnlyMemory<byte> message) => stream.OnText(message);
        public IReadOnlyList<PlatformAction> Binary(ReadOnlyMemory<byte> message) => stream.OnBinary();
        public IReadOnlyList<PlatformAction> ConnectionLost() => stream.OnConnectionLost();
        public IReadOnlyList<PlatformAction> Refuse(int code, string reason) => [.. stream.OnConnectionLost(), new CloseSocket(code, reason)];
        // Twilio cannot move a stream: on a drain the call ends with what arrived (Refuse).
        public IReadOnlyList<PlatformAction> Reconnect() => [];
    }

    /// <summary>One platform connection: reads messages, feeds the protocol, carries out its actions on the socket and the call.</summary>
    private sealed class Connection(SessionSocket socket, Tenant tenant, IngestSessions sessions, IProtocolAdapter protocol, ILogger logger)
    {
        private readonly SessionSocket _socket = socket;
        private CallSession? _call;
        private int _closeCode = CloseCodes.Abnormal;
        private int _sampleRate;
        private bool _closed;

        public async Task RunAsync(CancellationToken stopping)
        {
            var sinceDisconnect = new Stopwatch();
            try
            {
                while (!_closed)
                {
                    if (protocol.AwaitingClientClose && !sinceDisconnect.IsRunning) sinceDisconnect.Start();
                    if (sinceDisconnect.Elapsed > CloseGrace)
                    {
                        await CloseAsync(CloseCodes.PolicyViolation, "no close transaction after disconnect");
                        break;
                    }
                    WebSocketMessageType type;
                    ReadOnlyMemory<byte> message;
                    try
                    {
                        (type, message) = await _socket.ReceiveAsync(stopping);
                    }
                    catch (IngestProtocolException e) when (e.Code == CloseCodes.ServiceRestart && protocol.Reconnect() is { Count: > 0 } reconnect)
                    {
                        // The instance drains: the client moves the session to another instance, where the call resumes
                        // at its position (handed over first, so the new session finds it resumable); audio still arriving
                        // here is ignored, and the client's close ends this session.
                        if (_call is not null) await _call.HandOverAsync(stopping);
                        await ExecuteAsync(reconnect, stopping);
                        _closeCode = CloseCodes.ServiceRestart;
                        continue;
                    }
                    catch (IngestProtocolException e)
                    {
                        // Too big or idle: the protocol says so in its own terms; the rest of the stream cannot be read.
                        await RefuseAsync(e, stopping);
                        await CloseAsync(e.Code, e.Message);
                        break;
                    }
                    if (type == WebSocketMessageType.Close)
                    {
                        await ExecuteAsync(protocol.ConnectionLost(), stopping);
                        await CloseAsync((int)WebSocketCloseStatus.NormalClosure, "closed");
                        break;
                    }
                    try
                    {
                        await ExecuteAsync(type == WebSocketMessageType.Binary ? protocol.Binary(message) : protocol.Text(message), stopping);
                    }
                    catch (IngestProtocolException e)
                    {
                        await RefuseAsync(e, stopping); // the session layer refused (a start, a limit): this call only
                    }
                }
            }
            catch (WebSocketException e)
            {
                // The connection broke without a close handshake: what arrived so far is the call.
                LogBroken(logger, protocol.Name, tenant.Id, protocol.Ids, e.Message);
                await ExecuteAsync(protocol.ConnectionLost(), stopping);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The sink failed (Kafka unreachable past its timeout): this call cannot go on, the others may.
                LogSinkFailed(logger, e, protocol.Name, tenant.Id, protocol.Ids);
                _call = null;
                await ExecuteSocketActionsAsync(protocol.Refuse(CloseCodes.InternalError, "the service cannot accept audio right now"), stopping);
                await CloseAsync(CloseCodes.InternalError, "the service cannot accept audio right now");
            }
            finally
            {
                if (_call is not null) await _call.DisposeAsync();
                IngestSessions.RecordClosed(protocol.Kind, _closeCode);
            }
        }

        private async Task RefuseAsync(IngestProtocolException e, CancellationToken stopping)
        {
            IngestSessions.Rejected.Add(1);
            LogRefused(logger, protocol.Name, tenant.Id, protocol.Ids, e.Code, e.Message);
            await ExecuteAsync(protocol.Refuse(e.Code, e.Message), stopping);
        }

        /// <summary>Carries out a state machine's actions in order.</summary>
        private async Task ExecuteAsync(IReadOnlyList<PlatformAction> actions, CancellationToken stopping)
        {
            // The list is the state machine's own and reused by its next call: take a copy before anything can re-enter it.
            foreach (var action in actions.ToArray())
            {
                switch (action)
                {
                    case StartCall start:
                        _call = await sessions.StartAsync(new SessionStart(tenant, start.CallId, start.SampleRate, start.Encoding, start.Roles, start.Metadata), stopping);
                        _sampleRate = start.SampleRate;
                        _socket.AllowAudio();
                        LogStarted(logger, protocol.Name, tenant.Id, protocol.Ids, start.Channels, tenant.CustomerOnly, string.Join(",", _call.Streams));
                        break;
                    case CallAudio audio when _call is not null:
                        await _call.AudioAsync(audio.Frames, stopping);
                        break;
                    case AdvanceClock advance when _call is not null:
                        await _call.AdvanceAsync(TimeSpan.FromSeconds(advance.Frames / (double)_sampleRate), stopping);
                        break;
                    case EndCall end when _call is not null:
                        await _call.StopAsync(stopping);
                        LogEnded(logger, protocol.Name, tenant.Id, protocol.Ids, _call.Seconds, end.Reason);
                        break;
                    default:
                        await ExecuteSocketActionAsync(action, stopping);
                        break;
                }
            }
        }

        /// <summary>Only what goes to the client and the log: for a call whose audio can no longer be passed on.</summary>
        private async Task ExecuteSocketActionsAsync(IReadOnlyList<PlatformAction> actions, CancellationToken stopping)
        {
            foreach (var action in actions.ToArray()) await ExecuteSocketActionAsync(action, stopping);
        }

        private async Task ExecuteSocketActionAsync(PlatformAction action, CancellationToken stopping)
        {
            switch (action)
            {
                case SendText text:
                    await _socket.SendTextAsync(Encoding.UTF8.GetBytes(text.Json), stopping);
                    break;
                case CloseSocket close:
                    await CloseAsync(close.Code, close.Reason);
                    break;
                case LogNote note:
                    LogProtocol(logger, note.Level == PlatformLogLevel.Warning ? LogLevel.Warning : LogLevel.Information, protocol.Name, tenant.Id, protocol.Ids, note.Message);
                    break;
            }
        }

        private async Task CloseAsync(int code, string reason)
        {
            if (_closed) return;
            _closed = true;
            if (_closeCode != CloseCodes.ServiceRestart) _closeCode = code;
            await _socket.CloseAsync(code, reason);
        }
    }

    [LoggerMessage(Message = "{Protocol} tenant {Tenant} {Ids}: {Note}")]
    private static partial void LogProtocol(ILogger logger, LogLevel level, string protocol, string tenant, string ids, string note);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Protocol} tenant {Tenant} {Ids}: call started (x{Channels}, customer-only {CustomerOnly}, streams {Streams})")]
    private static partial void LogStarted(ILogger logger, string protocol, string tenant, string ids, int channels, bool customerOnly, string streams);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Protocol} tenant {Tenant} {Ids}: call ended after {Seconds:0.0} s ({Reason})")]
    private static partial void LogEnded(ILogger logger, string protocol, string tenant, string ids, double seconds, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Protocol} tenant {Tenant} {Ids}: refused with {Code}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string protocol, string tenant, string ids, int code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Protocol} tenant {Tenant} {Ids}: connection broke ({Reason}); the call ends")]
    private static partial void LogBroken(ILogger logger, string protocol, string tenant, string ids, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Protocol} tenant {Tenant} {Ids}: passing audio on failed")]
    private static partial void LogSinkFailed(ILogger logger, Exception error, string protocol, string tenant, string ids);
}
