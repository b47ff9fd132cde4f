using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// The native protocol at <c>/v1/audio</c>: the tenant's API key on the upgrade request (401 before any WebSocket
/// otherwise), then a JSON start, binary audio, a JSON stop. Bad input closes only this connection. A connection that
/// drops without a stop, or that a draining instance asks to reconnect, leaves its call resumable (docs/distributed.md).
/// </summary>
public static partial class NativeEndpoint
{
    public const string Path = "/v1/audio";

    public static IEndpointConventionBuilder MapNativeIngest(this IEndpointRouteBuilder endpoints)
    {
        return endpoints.Map(Path, async (HttpContext context, IngestSessions sessions, ILogger<CallSession> logger) =>
        {
            if (!context.WebSockets.IsWebSocketRequest) return Results.Problem($"{Path} takes WebSocket connections only", statusCode: 400);
            var tenant = context.GetTenant()!; // the endpoint requires authorization
            using var socket = await sessions.AcceptAsync(context);
            if (socket is not null) await RunAsync(socket, tenant, sessions, logger);
            return Results.Empty;
        }).RequireAuthorization();
    }

    private static async Task RunAsync(SessionSocket socket, Tenant tenant, IngestSessions sessions, ILogger logger)
    {
        CallSession? session = null;
        var callId = "(none)";
        var closeCode = CloseCodes.Normal;
        // Once the instance drains: the time left for the client to close after the reconnect message.
        CancellationTokenSource? handOver = null;
        try
        {
            while (true)
            {
                WebSocketMessageType type;
                ReadOnlyMemory<byte> message;
                try
                {
                    (type, message) = await socket.ReceiveAsync(handOver?.Token ?? CancellationToken.None);
                }
                catch (IngestProtocolException e) when (e.Code == CloseCodes.ServiceRestart)
                {
                    closeCode = e.Code;
                    if (session is null) throw;
                    // Ask the client to move; what it sent before it read this is still part of the call, so read on until it closes.
                    await socket.SendTextAsync(new ServerMessage(ServerMessage.Reconnect).ToUtf8(), CancellationToken.None);
                    handOver = new CancellationTokenSource(sessions.Options.HandOverGrace);
                    continue;
                }
                catch (OperationCanceledException) when (handOver is not null)
                {
                    // The client did not close within the grace: hand over what arrived, and close.
                    await session!.HandOverAsync(CancellationToken.None);
                    await socket.CloseAsync(CloseCodes.ServiceRestart, "reconnect to continue the call");
                    return;
                }
                if (type == WebSocketMessageType.Close)
                {
                    if (session is not null)
                    {
                        // The client hung up without a stop (or after the reconnect message): the call stays resumable.
                        if (handOver is null) LogEndedWithoutStop(logger, tenant.Id, callId, sessions.Options.ResumeWindow.TotalSeconds);
                        await session.HandOverAsync(CancellationToken.None);
                    }
                    await socket.CloseAsync(handOver is null ? CloseCodes.Normal : CloseCodes.ServiceRestart, handOver is null ? "closed" : "reconnect to continue the call");
                    return;
                }
                if (session is null)
                {
                    if (type == WebSocketMessageType.Binary)
                        throw new IngestProtocolException(CloseCodes.PolicyViolation, "audio before the start message");
                    var start = CallStart.Parse(message.Span);
                    callId = SessionStart.IsValidCallId(start.CallId) ? start.CallId! : "(invalid)";
                    session = await sessions.StartAsync(start.ToSession(tenant), CancellationToken.None);
                    socket.AllowAudio();
                    LogStarted(logger, tenant.Id, callId, session.IsResumed ? "resumed" : "started", start.SampleRate, start.Encoding!, start.Channels, tenant.CustomerOnly,
                        string.Join(",", session.Streams), session.Seconds);
                    if (session.IsResumed) await socket.SendTextAsync(new ServerMessage(ServerMessage.Resumed, callId, session.Seconds).ToUtf8(), CancellationToken.None);
                }
                else if (type == WebSocketMessageType.Binary)
                {
                    await session.AudioAsync(message, CancellationToken.None);
                }
                else
                {
                    var control = ParseControl(message.Span);
                    if (control.Type != "stop") throw new IngestProtocolException(CloseCodes.PolicyViolation, $"unexpected '{control.Type}' message during a call");
                    await session.StopAsync(CancellationToken.None);
                    LogStopped(logger, tenant.Id, callId, session.Seconds);
                    var ack = JsonSerializer.SerializeToUtf8Bytes(new StopAck("stopped", callId, [.. session.Streams], session.Seconds), IngestJson.Default.StopAck);
                    await socket.SendTextAsync(ack, CancellationToken.None);
                    closeCode = CloseCodes.Normal;
                    await socket.CloseAsync(CloseCodes.Normal, "call ended");
                    return;
                }
            }
        }
        catch (IngestProtocolException e)
        {
            closeCode = e.Code;
            if (e.Code != CloseCodes.ServiceRestart) IngestSessions.Rejected.Add(1);
            LogRejected(logger, tenant.Id, callId, e.Code, e.Message);
            // The client broke a rule or a limit: the call ends here (its streams complete), it is not resumable.
            if (session is not null) await session.StopAsync(CancellationToken.None);
            await socket.CloseAsync(e.Code, e.Message);
        }
        catch (WebSocketException e)
        {
            // The connection broke (no close handshake): the session hands the call over when disposed, resumable.
            closeCode = CloseCodes.Abnormal;
            LogBroken(logger, tenant.Id, callId, e.Message, sessions.Options.ResumeWindow.TotalSeconds);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The sink failed (Kafka unreachable past its timeout): this call cannot go on, the others may.
            closeCode = CloseCodes.InternalError;
            LogSinkFailed(logger, e, tenant.Id, callId);
            await socket.CloseAsync(CloseCodes.InternalError, "the service cannot accept audio right now");
        }
        finally
        {
            handOver?.Dispose();
            if (session is not null) await session.DisposeAsync();
            IngestSessions.RecordClosed(IngestProtocol.Native, closeCode);
        }
    }

    private static ControlMessage ParseControl(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, IngestJson.Default.ControlMessage)
                ?? throw new IngestProtocolException(CloseCodes.InvalidPayload, "control message is JSON null");
        }
        catch (JsonException e)
        {
            throw new IngestProtocolException(CloseCodes.InvalidPayload, $"control message is not valid JSON ({e.Message})");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "tenant {Tenant} call {CallId}: {How} ({SampleRate} Hz {Encoding} x{Channels}, customer-only {CustomerOnly}, streams {Streams}) at {Seconds:0.00} s")]
    private static partial void LogStarted(ILogger logger, string tenant, string callId, string how, int sampleRate, string encoding, int channels, bool customerOnly, string streams, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "tenant {Tenant} call {CallId}: stopped after {Seconds:0.0} s of audio")]
    private static partial void LogStopped(ILogger logger, string tenant, string callId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: closed with {Code}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string tenant, string callId, int code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: client closed without a stop message; resumable for {Seconds:0} s")]
    private static partial void LogEndedWithoutStop(ILogger logger, string tenant, string callId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: connection broke ({Reason}); resumable for {Seconds:0} s")]
    private static partial void LogBroken(ILogger logger, string tenant, string callId, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "tenant {Tenant} call {CallId}: passing audio on failed")]
    private static partial void LogSinkFailed(ILogger logger, Exception error, string tenant, string callId);
}
