using System.Buffers;
using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Confluent.Kafka;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;
using Streaming.ServiceDefaults;

namespace Streaming.Ingest;

/// <summary>Ingest settings (configuration section "Ingest").</summary>
public sealed class IngestOptions
{
    public const string Section = "Ingest";

    /// <summary>The default policy: drop every non-customer channel at ingest (EU AI Act Art. 5(1)(f)).</summary>
    public bool CustomerOnly { get; set; }

    /// <summary>Per-tenant overrides of <see cref="CustomerOnly"/>, keyed by tenant id.</summary>
    public Dictionary<string, bool> CustomerOnlyTenants { get; set; } = [];

    /// <summary>Largest WebSocket message accepted: 1 s of 8-channel 48 kHz PCM16 is 768 KB; live platforms send 20 ms.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>A call that sends nothing for this long is closed (4408) and its streams ended.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Samples per published chunk at 8 kHz: 1600 = 200 ms.</summary>
    [Range(80, 80000)]
    public int ChunkSamples { get; set; } = 1600;

    public bool IsCustomerOnly(string tenant) => CustomerOnlyTenants.TryGetValue(tenant, out var only) ? only : CustomerOnly;
}

public static partial class IngestService
{
    public const string Path = "/v1/audio";

    private static readonly Meter Meter = new("Streaming.Ingest");
    private static readonly UpDownCounter<long> ActiveCalls = Meter.CreateUpDownCounter<long>("streaming.ingest.active_calls", "{call}");
    private static readonly Counter<long> Rejected = Meter.CreateCounter<long>("streaming.ingest.rejected_calls", "{call}", "Calls closed for bad input");

    public static WebApplicationBuilder AddIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddKafka();
        builder.Services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ActiveCallRegistry>();
        return builder;
    }

    public static WebApplication MapIngest(this WebApplication app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        app.Map(Path, async (HttpContext context, KafkaPublisher publisher, IOptions<KafkaOptions> kafka, IOptions<IngestOptions> options, ActiveCallRegistry calls,
            ILogger<CallSession> logger, IHostApplicationLifetime lifetime) =>
        {
            if (!context.WebSockets.IsWebSocketRequest) return Results.Problem($"{Path} takes WebSocket connections only", statusCode: 400);
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await RunAsync(socket, publisher, kafka, options.Value, calls, logger, lifetime.ApplicationStopping);
            return Results.Empty;
        });
        return app;
    }

    /// <summary>The native protocol: a JSON start, binary audio, a JSON stop. Bad input closes only this connection.</summary>
    private static async Task RunAsync(WebSocket socket, KafkaPublisher publisher, IOptions<KafkaOptions> kafka, IngestOptions options, ActiveCallRegistry calls,
        ILogger logger, CancellationToken stopping)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(options.MaxMessageBytes);
        using var idle = new IdleTimer(options.IdleTimeout);
        CallSession? session = null;
        var callId = "(none)";
        try
        {
            while (true)
            {
                var (type, length) = await ReceiveAsync(socket, buffer, options, idle, stopping);
                if (type == WebSocketMessageType.Close)
                {
                    // The client hung up without a stop: end the streams so the timeline is complete.
                    if (session is not null)
                    {
                        LogEndedWithoutStop(logger, callId);
                        await session.StopAsync(stopping);
                    }
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "closed", stopping);
                    return;
                }
                if (session is null)
                {
                    if (type == WebSocketMessageType.Binary)
                        throw new IngestProtocolException(CloseCodes.PolicyViolation, "audio before the start message");
                    var start = CallStart.Parse(buffer.AsSpan(0, length));
                    callId = start.CallId ?? "(none)";
                    var customerOnly = start.Tenant is not null && options.IsCustomerOnly(start.Tenant);
                    var sink = new KafkaMessageSink<AudioChunk>(publisher, AudioChunkCodec.Instance, kafka.Value.Topic(AudioChunk.Topic), trackDeliveries: true);
                    session = new CallSession(start, customerOnly, sink, options.ChunkSamples);
                    if (!calls.TryAdd(session.CallId))
                    {
                        session.Dispose();
                        session = null;
                        throw new IngestProtocolException(CloseCodes.CallInProgress, $"call '{callId}' is already streaming");
                    }
                    ActiveCalls.Add(1);
                    LogStarted(logger, callId, start.Tenant!, start.SampleRate, start.Encoding!, start.Channels, customerOnly, string.Join(",", session.Streams));
                }
                else if (type == WebSocketMessageType.Binary)
                {
                    await session.AudioAsync(buffer.AsMemory(0, length), stopping);
                }
                else
                {
                    var message = ParseControl(buffer.AsSpan(0, length));
                    if (message.Type != "stop") throw new IngestProtocolException(CloseCodes.PolicyViolation, $"unexpected '{message.Type}' message during a call");
                    await session.StopAsync(stopping);
                    LogStopped(logger, callId, session.Seconds);
                    var ack = JsonSerializer.SerializeToUtf8Bytes(new StopAck("stopped", callId, [.. session.Streams], session.Seconds), IngestJson.Default.StopAck);
                    await socket.SendAsync(ack, WebSocketMessageType.Text, true, stopping);
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "call ended", stopping);
                    return;
                }
            }
        }
        catch (IngestProtocolException e)
        {
            Rejected.Add(1);
            LogRejected(logger, callId, e.Code, e.Message);
            if (e.Code == CloseCodes.IdleTimeout && session is not null) await session.StopAsync(stopping);
            await CloseAsync(socket, e.Code, e.Message);
        }
        catch (WebSocketException e)
        {
            // The connection broke (no close handshake): end what was received so far.
            LogBroken(logger, callId, e.Message);
            if (session is not null) await session.StopAsync(stopping);
        }
        catch (KafkaException e)
        {
            LogPublishFailed(logger, e, callId);
            await CloseAsync(socket, CloseCodes.InternalError, "the service cannot publish audio right now");
        }
        finally
        {
            if (session is not null)
            {
                calls.Remove(session.CallId);
                ActiveCalls.Add(-1);
                session.Dispose();
            }
            ArrayPool<byte>.Shared.Return(buffer);
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

    /// <summary>
    /// Reads one whole message into <paramref name="buffer"/>; a client silent for the idle timeout is an error. The
    /// receive itself is never cancelled (that would abort the socket before the close frame could tell the client why).
    /// </summary>
    private static async Task<(WebSocketMessageType Type, int Length)> ReceiveAsync(WebSocket socket, byte[] buffer, IngestOptions options,
        IdleTimer idle, CancellationToken stopping)
    {
        var length = 0;
        while (true)
        {
            if (length == options.MaxMessageBytes)
                throw new IngestProtocolException(CloseCodes.TooBig, $"message larger than {options.MaxMessageBytes} bytes");
            var receive = socket.ReceiveAsync(buffer.AsMemory(length, options.MaxMessageBytes - length), stopping).AsTask();
            if (await Task.WhenAny(receive, idle.Restart()) != receive)
            {
                _ = receive.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted); // completes when the socket closes
                throw new IngestProtocolException(CloseCodes.IdleTimeout, $"nothing received for {options.IdleTimeout.TotalSeconds:0} s");
            }
            var result = await receive;
            length += result.Count;
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close) return (result.MessageType, length);
        }
    }

    /// <summary>One timer per connection, re-armed per message (no timer allocated per audio frame).</summary>
    private sealed class IdleTimer(TimeSpan timeout) : IDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private Task? _expired;

        public Task Restart()
        {
            _cts.CancelAfter(timeout);
            return _expired ??= Task.Delay(Timeout.Infinite, _cts.Token).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        public void Dispose() => _cts.Dispose();
    }

    private static async Task CloseAsync(WebSocket socket, int code, string reason)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        // A close reason is at most 123 bytes.
        var text = reason.Length > 120 ? reason[..120] : reason;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, text, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the client is gone already
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "call {CallId}: started (tenant {Tenant}, {SampleRate} Hz {Encoding} x{Channels}, customer-only {CustomerOnly}, streams {Streams})")]
    private static partial void LogStarted(ILogger logger, string callId, string tenant, int sampleRate, string encoding, int channels, bool customerOnly, string streams);

    [LoggerMessage(Level = LogLevel.Information, Message = "call {CallId}: stopped after {Seconds:0.0} s of audio")]
    private static partial void LogStopped(ILogger logger, string callId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "call {CallId}: closed with {Code}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string callId, int code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "call {CallId}: client closed without a stop message; streams ended")]
    private static partial void LogEndedWithoutStop(ILogger logger, string callId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "call {CallId}: connection broke ({Reason}); streams ended")]
    private static partial void LogBroken(ILogger logger, string callId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "call {CallId}: publishing to Kafka failed")]
    private static partial void LogPublishFailed(ILogger logger, Exception error, string callId);
}

/// <summary>Call ids streaming on this instance: a second connection for the same call is refused.</summary>
public sealed class ActiveCallRegistry
{
    private readonly ConcurrentDictionary<string, byte> _calls = new();

    public bool TryAdd(string callId) => _calls.TryAdd(callId, 0);

    public void Remove(string callId) => _calls.TryRemove(callId, out _);
}
