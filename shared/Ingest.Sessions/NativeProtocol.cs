using System.Text.Json;
using System.Text.Json.Serialization;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Platforms;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// The native protocol's start message (JSON text): <c>{"type":"start","callId":…,"sampleRate":…,"encoding":…,
/// "channels":…,"roles":[…]}</c>. An optional <c>tenant</c> field must name the tenant of the API key. An optional
/// <c>metadata</c> object of strings (agent, queue, the platform's ids; within the <see cref="CallMetadata"/> limits) is
/// stored with the call's timeline.
/// </summary>
public sealed record CallStart(
    [property: JsonPropertyName("callId")] string? CallId,
    [property: JsonPropertyName("tenant")] string? Tenant,
    [property: JsonPropertyName("sampleRate")] int SampleRate,
    [property: JsonPropertyName("encoding")] string? Encoding,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("roles")] string[]? Roles,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string>? Metadata = null)
{
    public static readonly IReadOnlyDictionary<string, SampleEncoding> Encodings = new Dictionary<string, SampleEncoding>(StringComparer.OrdinalIgnoreCase)
    {
        ["pcm16"] = SampleEncoding.Pcm16,
        ["mulaw"] = SampleEncoding.MuLaw,
        ["alaw"] = SampleEncoding.ALaw,
    };

    /// <summary>Checks the native fields and makes the session's start; throws <see cref="IngestProtocolException"/> naming the first bad field.</summary>
    /// <param name="tenant">the tenant the connection's API key belongs to</param>
    public SessionStart ToSession(Tenant tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        if (!SessionStart.IsValidCallId(CallId))
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: 'callId' must be 1-{SessionStart.MaxCallIdLength} characters of A-Z a-z 0-9 - _ .");
        if (Tenant is not null && Tenant != tenant.Id)
            throw new IngestProtocolException(CloseCodes.WrongTenant, "start: 'tenant' is not the tenant of the API key");
        if (string.IsNullOrEmpty(Encoding) || !Encodings.TryGetValue(Encoding, out var encoding))
            throw new IngestProtocolException(CloseCodes.UnknownEncoding, $"start: 'encoding' '{Encoding}' is not one of pcm16, mulaw, alaw");
        if (Channels is < 1 or > SessionStart.MaxChannels)
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: 'channels' {Channels} is outside 1-{SessionStart.MaxChannels}");
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
        var start = new SessionStart(tenant, CallId!, SampleRate, encoding, roles, Metadata);
        start.Validate();
        return start;
    }

    public static CallStart Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var message = JsonSerializer.Deserialize(json, IngestJson.Default.ControlMessage)
                ?? throw new IngestProtocolException(CloseCodes.InvalidPayload, "start: the message is JSON null");
            if (message.Type != "start")
                throw new IngestProtocolException(CloseCodes.PolicyViolation, $"expected a start message first, got type '{message.Type}'");
            return new CallStart(message.CallId, message.Tenant, message.SampleRate ?? 0, message.Encoding, message.Channels ?? 0, message.Roles,
                ReadMetadata(message.Metadata));
        }
        catch (JsonException e)
        {
            throw new IngestProtocolException(CloseCodes.InvalidPayload, $"start: not valid JSON ({e.Message})");
        }
    }

    /// <summary>
    /// The start's <c>metadata</c>: an object of strings within the <see cref="CallMetadata"/> limits. Our own protocol refuses
    /// what does not fit (naming the problem, never echoing a value) rather than cutting it silently as the platforms' adapters must.
    /// </summary>
    private static Dictionary<string, string>? ReadMetadata(JsonElement? element)
    {
        if (element is not { ValueKind: not JsonValueKind.Null } value) return null;
        if (value.ValueKind != JsonValueKind.Object) throw BadMetadata("'metadata' must be an object of strings");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateObject())
        {
            if (metadata.Count == CallMetadata.MaxEntries) throw BadMetadata($"'metadata' has more than {CallMetadata.MaxEntries} entries");
            if (entry.Name.Length is 0 or > CallMetadata.MaxKeyLength) throw BadMetadata($"'metadata' keys must be 1-{CallMetadata.MaxKeyLength} characters");
            if (entry.Value.ValueKind != JsonValueKind.String) throw BadMetadata($"'metadata.{entry.Name}' must be a string");
            var text = entry.Value.GetString()!;
            if (text.Length > CallMetadata.MaxValueLength) throw BadMetadata($"'metadata.{entry.Name}' is longer than {CallMetadata.MaxValueLength} characters");
            metadata[entry.Name] = text;
        }
        return metadata;
    }

    private static IngestProtocolException BadMetadata(string problem) => new(CloseCodes.BadStart, "start: " + problem);
}

/// <summary>Any text message of the native protocol: {"type":"start",...} or {"type":"stop"}.</summary>
public sealed record ControlMessage(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("callId")] string? CallId = null,
    [property: JsonPropertyName("tenant")] string? Tenant = null,
    [property: JsonPropertyName("sampleRate")] int? SampleRate = null,
    [property: JsonPropertyName("encoding")] string? Encoding = null,
    [property: JsonPropertyName("channels")] int? Channels = null,
    [property: JsonPropertyName("roles")] string[]? Roles = null,
    [property: JsonPropertyName("metadata")] JsonElement? Metadata = null);

/// <summary>What the server answers after a stop: how much it published.</summary>
public sealed record StopAck(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("callId")] string CallId,
    [property: JsonPropertyName("streams")] string[] Streams,
    [property: JsonPropertyName("seconds")] double Seconds);

[JsonSerializable(typeof(ControlMessage))]
[JsonSerializable(typeof(StopAck))]
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
public sealed partial class IngestJson : JsonSerializerContext;
