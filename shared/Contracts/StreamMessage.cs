using System.Collections;

namespace Streaming.Contracts;

/// <summary>
/// What every pipeline message says about its stream, so hosts can keep per-stream bookkeeping (active-stream metrics,
/// log scopes) without knowing the message type.
/// </summary>
public interface IStreamMessage
{
    StreamKey Stream { get; }

    /// <summary>The stream's last message.</summary>
    bool IsFinal { get; }
}

/// <summary>
/// Log scope state naming a stream: <c>Tenant</c>, <c>CallId</c> and <c>Stream</c> (the speaker) as structured properties, so every
/// line logged while one message is handled carries them (OpenTelemetry log attributes, JSON console scopes). Ids only, never audio.
/// </summary>
public sealed class StreamLogScope(StreamKey stream) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 3;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("Tenant", stream.Tenant),
        1 => new("CallId", stream.CallId),
        2 => new("Stream", stream.Speaker),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"tenant {stream.Tenant}, call {stream.CallId}, stream {stream.Speaker}";
}
