using System.Text.Json;
using System.Text.Json.Serialization;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// What the native protocol's server says besides the stop acknowledgement: <c>{"type":"reconnect"}</c> when the instance
/// drains (the client closes, connects again and sends the same start: the call resumes), and
/// <c>{"type":"resumed","callId":…,"seconds":…}</c> after a start that resumed a call (the call time received so far, so
/// the client can go on from there).
/// </summary>
public sealed record ServerMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("callId")] string? CallId = null,
    [property: JsonPropertyName("seconds")] double? Seconds = null)
{
    public const string Reconnect = "reconnect";
    public const string Resumed = "resumed";

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, ServerMessageJson.Default.ServerMessage);
}

[JsonSerializable(typeof(ServerMessage))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class ServerMessageJson : JsonSerializerContext;
