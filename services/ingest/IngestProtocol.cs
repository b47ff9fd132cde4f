using System.Text.Json;
using System.Text.Json.Serialization;
using Streaming.Audio;
using Streaming.Contracts;

namespace Streaming.Ingest;

/// <summary>
/// WebSocket close codes of the ingest endpoint (documented in docs/distributed.md). 1000-1011 are RFC 6455's;
/// 4xxx are this service's, modelled on HTTP statuses so they read at a glance.
/// </summary>
public static class CloseCodes
{
    public const int Normal = 1000;
    public const int InvalidPayload = 1007;    // not JSON, or a binary frame that is not whole samples of every channel
    public const int PolicyViolation = 1008;   // audio before the start message, a second start, text after stop
    public const int TooBig = 1009;            // a message larger than Ingest:MaxMessageBytes
    public const int InternalError = 1011;     // the service could not publish (Kafka unreachable)
    public const int BadStart = 4400;          // a start message with a missing or invalid field
    public const int IdleTimeout = 4408;       // the client stopped sending mid-call
    public const int CallInProgress = 4409;    // the call id is already streaming on this instance
    public const int UnknownEncoding = 4415;   // encoding other than pcm16, mulaw, alaw
}

/// <summary>A request the endpoint refuses: the connection closes with <see cref="Code"/> and this message as reason.</summary>
public sealed class IngestProtocolException(int code, string reason) : Exception(reason)
{
    public int Code { get; } = code;
}

/// <summary>
/// The first message of a call (JSON text). Platform protocols (Twilio Media Streams, Genesys AudioHook) map
/// their own start events onto this record in an adapter, and everything after it is shared.
/// </summary>
public sealed record CallStart(
    [property: JsonPropertyName("callId")] string? CallId,
    [property: JsonPropertyName("tenant")] string? Tenant,
    [property: JsonPropertyName("sampleRate")] int SampleRate,
    [property: JsonPropertyName("encoding")] string? Encoding,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("roles")] string[]? Roles)
{
    /// <summary>Call ids become Kafka keys and Redis key parts: a safe alphabet, bounded length.</summary>
    public const int MaxCallIdLength = 128;

    public static readonly IReadOnlyDictionary<string, SampleEncoding> Encodings = new Dictionary<string, SampleEncoding>(StringComparer.OrdinalIgnoreCase)
    {
        ["pcm16"] = SampleEncoding.Pcm16,
        ["mulaw"] = SampleEncoding.MuLaw,
        ["alaw"] = SampleEncoding.ALaw,
    };

    /// <summary>Checks every field; throws <see cref="IngestProtocolException"/> naming the first bad one.</summary>
    public (SampleEncoding Encoding, SpeakerRole[] Roles) Validate()
    {
        if (string.IsNullOrEmpty(CallId) || CallId.Length > MaxCallIdLength || !CallId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: 'callId' must be 1-{MaxCallIdLength} characters of A-Z a-z 0-9 - _ .");
        if (string.IsNullOrWhiteSpace(Tenant))
            throw new IngestProtocolException(CloseCodes.BadStart, "start: 'tenant' is missing");
        if (SampleRate is < 4000 or > 192000)
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: 'sampleRate' {SampleRate} is outside 4000-192000 Hz");
        if (string.IsNullOrEmpty(Encoding) || !Encodings.TryGetValue(Encoding, out var encoding))
            throw new IngestProtocolException(CloseCodes.UnknownEncoding, $"start: 'encoding' '{Encoding}' is not one of pcm16, mulaw, alaw");
        if (Channels is < 1 or > 8)
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: 'channels' {Channels} is outside 1-8");
        if (Roles is null || Roles.Length != Channels)
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: 'roles' needs one role per channel ({Channels}), got {Roles?.Length ?? 0}");
        var roles = new SpeakerRole[Channels];
        for (var i = 0; i < Channels; i++)
        {
            roles[i] = Roles[i]?.ToLowerInvariant() switch
            {
                "customer" => SpeakerRole.Customer,
                "agent" => SpeakerRole.Agent,
                "other" => SpeakerRole.Unknown,
                _ => throw new IngestProtocolException(CloseCodes.BadStart, $"start: 'roles[{i}]' '{Roles[i]}' is not customer, agent or other"),
            };
        }
        if (roles.Count(r => r == SpeakerRole.Customer) > 1 || roles.Count(r => r == SpeakerRole.Agent) > 1)
            throw new IngestProtocolException(CloseCodes.BadStart, "start: 'roles' names the customer or the agent twice");
        return (encoding, roles);
    }

    public static CallStart Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var message = JsonSerializer.Deserialize(json, IngestJson.Default.ControlMessage)
                ?? throw new IngestProtocolException(CloseCodes.InvalidPayload, "start: the message is JSON null");
            if (message.Type != "start")
                throw new IngestProtocolException(CloseCodes.PolicyViolation, $"expected a start message first, got type '{message.Type}'");
            return new CallStart(message.CallId, message.Tenant, message.SampleRate ?? 0, message.Encoding, message.Channels ?? 0, message.Roles);
        }
        catch (JsonException e)
        {
            throw new IngestProtocolException(CloseCodes.InvalidPayload, $"start: not valid JSON ({e.Message})");
        }
    }
}

/// <summary>Any text message of the native protocol: {"type":"start",...} or {"type":"stop"}.</summary>
public sealed record ControlMessage(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("callId")] string? CallId = null,
    [property: JsonPropertyName("tenant")] string? Tenant = null,
    [property: JsonPropertyName("sampleRate")] int? SampleRate = null,
    [property: JsonPropertyName("encoding")] string? Encoding = null,
    [property: JsonPropertyName("channels")] int? Channels = null,
    [property: JsonPropertyName("roles")] string[]? Roles = null);

/// <summary>What the server answers after a stop: how much it published.</summary>
public sealed record StopAck(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("callId")] string CallId,
    [property: JsonPropertyName("streams")] string[] Streams,
    [property: JsonPropertyName("seconds")] double Seconds);

[JsonSerializable(typeof(ControlMessage))]
[JsonSerializable(typeof(StopAck))]
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
internal sealed partial class IngestJson : JsonSerializerContext;
