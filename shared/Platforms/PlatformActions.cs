using System.Text.Json;
using Streaming.Audio;
using Streaming.Contracts;

namespace Streaming.Platforms;

/// <summary>
/// What a platform protocol asks the connection to do. The protocol classes are pure state machines: a message or
/// frame goes in, a list of these comes out, and the wiring layer (ASP.NET Core, the ingest session) carries them out
/// in order. Nothing here touches a socket, so every protocol rule is testable without one.
/// </summary>
public abstract record PlatformAction;

/// <summary>
/// The call begins: audio that follows is whole interleaved frames of <see cref="Channels"/> samples in
/// <see cref="Encoding"/> at <see cref="SampleRate"/>, channel i carrying the party <see cref="Roles"/>[i].
/// </summary>
public sealed record StartCall(
    string CallId,
    int SampleRate,
    SampleEncoding Encoding,
    IReadOnlyList<SpeakerRole> Roles,
    IReadOnlyDictionary<string, string> Metadata) : PlatformAction
{
    public int Channels => Roles.Count;
}

/// <summary>
/// Audio of the started call: whole interleaved frames. The memory may be reused by the protocol on its next input,
/// so it must be consumed (decoded or copied) before the next call into the protocol.
/// </summary>
public sealed record CallAudio(ReadOnlyMemory<byte> Frames) : PlatformAction;

/// <summary>
/// Call time passed with no audio (a pause, or audio the platform discarded): the stream clock moves on by
/// <see cref="Frames"/> frames so timeline times stay call times.
/// </summary>
public sealed record AdvanceClock(long Frames) : PlatformAction;

/// <summary>The call is over (normally, or because the connection ended): finish its streams.</summary>
public sealed record EndCall(string Reason) : PlatformAction;

/// <summary>Send this text message to the platform.</summary>
public sealed record SendText(string Json) : PlatformAction;

/// <summary>Close the WebSocket with this status (RFC 6455 close code) and reason.</summary>
public sealed record CloseSocket(int Code, string Reason) : PlatformAction;

/// <summary>
/// Something the operator should see in the log (a protocol violation, an error the platform reported); never audio
/// or secrets, only the protocol's own words and ids.
/// </summary>
public sealed record LogNote(PlatformLogLevel Level, string Message) : PlatformAction;

public enum PlatformLogLevel { Information, Warning }

/// <summary>
/// Call metadata from the platform (AudioHook participant and customConfig, Twilio customParameters): bounded in
/// count and size, because it is stored with the timeline and comes from the network.
/// </summary>
public static class CallMetadata
{
    public const int MaxEntries = 32;
    public const int MaxKeyLength = 64;
    public const int MaxValueLength = 256;

    /// <summary>Adds one entry unless the limits are reached; over-long values are cut, empty keys dropped.</summary>
    public static void TryAdd(Dictionary<string, string> metadata, string key, string? value)
    {
        if (value is null || key.Length == 0 || key.Length > MaxKeyLength || metadata.Count >= MaxEntries) return;
        metadata[key] = value.Length > MaxValueLength ? value[..MaxValueLength] : value;
    }

    /// <summary>
    /// Adds the members of a JSON object the platform passes through from its user (customConfig, customParameters):
    /// strings as they are, other values as JSON text; keys already present (the platform's own ids) are kept.
    /// </summary>
    public static void AddObject(Dictionary<string, string> metadata, JsonElement source)
    {
        if (source.ValueKind != JsonValueKind.Object) return;
        foreach (var property in source.EnumerateObject())
        {
            if (metadata.ContainsKey(property.Name)) continue;
            TryAdd(metadata, property.Name, property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText());
        }
    }
}
