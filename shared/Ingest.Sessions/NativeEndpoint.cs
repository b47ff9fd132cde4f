using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// The native protocol at <c>/v1/audio</c>: the tenant's API key on the upgrade request (401 before any WebSocket
/// otherwise), then a JSON start, binary audio, a JSON stop. Bad input closes only this connection.
/// </summary>
public static partial class NativeEndpoint
{
    public const string Path = "/v1/audio";

    public static IEndpointConventionBuilder MapNativeIngest(this IEndpointRouteBuilder endpoints)
    {
        return endpoints.Map(Path, async (HttpContext context, IngestSessions sessions, ILogger<CallSession> logger, IHostApplicationLifetime lifetime) =>
        {
            if (!context.WebSockets.IsWebSocketRequest) return Results.Problem($"{Path} takes WebSocket connections only", statusCode: 400);
            var tenant = context.GetTenant()!; // the endpoint requires authorization
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await RunAsync(socket, tenant, sessions, logger, lifetime.ApplicationStopping);
            return Results.Empty;
        }).RequireAuthorization();
    }

    private static async Task RunAsync(WebSocket webSocket, Tenant tenant, IngestSessions sessions, ILogger logger, CancellationToken stopping)
    {
        using var socket = new SessionSocket(webSocket, sessions.Options);
        CallSession? session = null;
        var callId = "(none)";
        try
        {
            while (true)
            {
                var (type, message) = await socket.ReceiveAsync(stopping);
                if (type == WebSocketMessageType.Close)
                {
                    // The client hung up without a stop: end the streams so the timeline is complete.
                    if (session is not null)
                    {
                        LogEndedWithoutStop(logger, tenant.Id, callId);
                        await session.StopAsync(stopping);
                    }
                    await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "closed", stopping);
                    return;
                }
                if (session is null)
                {
                    if (type == WebSocketMessageType.Binary)
                        throw new IngestProtocolException(CloseCodes.PolicyViolation, "audio before the start message");
                    var start = CallStart.Parse(message.Span);
                    callId = SessionStart.IsValidCallId(start.CallId) ? start.CallId! : "(invalid)";
                    session = sessions.Start(start.ToSession(tenant));
                    socket.AllowAudio();
                    LogStarted(logger, tenant.Id, callId, start.SampleRate, start.Encoding!, start.Channels, tenant.CustomerOnly, string.Join(",", session.Streams));
                }
                else if (type == WebSocketMessageType.Binary)
                {
                    await session.AudioAsync(message, stopping);
                }
                else
                {
                    var control = ParseControl(message.Span);
                    if (control.Type != "stop") throw new IngestProtocolException(CloseCodes.PolicyViolation, $"unexpected '{control.Type}' message during a call");
                    await session.StopAsync(stopping);
                    LogStopped(logger, tenant.Id, callId, session.Seconds);
                    var ack = JsonSerializer.SerializeToUtf8Bytes(new StopAck("stopped", callId, [.. session.Streams], session.Seconds), IngestJson.Default.StopAck);
                    await socket.SendTextAsync(ack, stopping);
                    await webSocket.CloseAsync(WebSocketCloseStatus.NormalClosure, "call ended", stopping);
                    return;
                }
            }
        }
        catch (IngestProtocolException e)
        {
            IngestSessions.Rejected.Add(1);
            LogRejected(logger, tenant.Id, callId, e.Code, e.Message);
            if (e.Code == CloseCodes.IdleTimeout && session is not null) await session.StopAsync(stopping);
            await socket.CloseAsync(e.Code, e.Message);
        }
        catch (WebSocketException e)
        {
            // The connection broke (no close handshake): end what was received so far.
            LogBroken(logger, tenant.Id, callId, e.Message);
            if (session is not null) await session.StopAsync(stopping);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The sink failed (Kafka unreachable past its timeout): this call cannot go on, the others may.
            LogSinkFailed(logger, e, tenant.Id, callId);
            await socket.CloseAsync(CloseCodes.InternalError, "the service cannot accept audio right now");
        }
        finally
        {
            if (session is not null) await session.DisposeAsync();
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

    [LoggerMessage(Level = LogLevel.Information, Message = "tenant {Tenant} call {CallId}: started ({SampleRate} Hz {Encoding} x{Channels}, customer-only {CustomerOnly}, streams {Streams})")]
    private static partial void LogStarted(ILogger logger, string tenant, string callId, int sampleRate, string encoding, int channels, bool customerOnly, string streams);

    [LoggerMessage(Level = LogLevel.Information, Message = "tenant {Tenant} call {CallId}: stopped after {Seconds:0.0} s of audio")]
    private static partial void LogStopped(ILogger logger, string tenant, string callId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: closed with {Code}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string tenant, string callId, int code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: client closed without a stop message; streams ended")]
    private static partial void LogEndedWithoutStop(ILogger logger, string tenant, string callId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "tenant {Tenant} call {CallId}: connection broke ({Reason}); streams ended")]
    private static partial void LogBroken(ILogger logger, string tenant, string callId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "tenant {Tenant} call {CallId}: passing audio on failed")]
    private static partial void LogSinkFailed(ILogger logger, Exception error, string tenant, string callId);
}
