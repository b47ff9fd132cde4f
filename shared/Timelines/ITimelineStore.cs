using Streaming.Contracts;

namespace Streaming.Timelines;

/// <summary>
/// Where per-speaker emotion timelines live: in memory when embedded, Redis when distributed.
/// Writes are idempotent: a window is keyed by (call, speaker, window index) and the first write of a key
/// wins, so a replayed message never adds a point, and a window recomputed after a restart or takeover
/// (whose vote may lack history) never changes what was already reported. Stream completion is recorded
/// by <see cref="CompleteStreamAsync"/>, not by a window's IsFinal flag.
/// </summary>
public interface ITimelineStore
{
    ValueTask AppendAsync(EmotionWindow window, CancellationToken cancellationToken);

    /// <summary>Marks a speaker's stream as ended (the call ends when all its streams have).</summary>
    ValueTask CompleteStreamAsync(StreamKey stream, CancellationToken cancellationToken);

    /// <summary>All windows of a call, per speaker, ordered by index; null when the call is unknown.</summary>
    ValueTask<CallWindows?> GetCallAsync(string callId, CancellationToken cancellationToken);

    /// <summary>Active and recent calls, newest first.</summary>
    ValueTask<IReadOnlyList<CallInfo>> ListCallsAsync(CancellationToken cancellationToken);
}

public sealed record CallInfo(string CallId, IReadOnlyList<string> Speakers, bool IsActive, DateTimeOffset LastUpdate);

public sealed record SpeakerWindows(string Speaker, SpeakerRole Role, IReadOnlyList<EmotionWindow> Windows, bool IsComplete);

public sealed record CallWindows(string CallId, IReadOnlyList<SpeakerWindows> Speakers);
