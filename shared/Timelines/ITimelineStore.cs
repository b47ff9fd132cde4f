using Streaming.Contracts;

namespace Streaming.Timelines;

/// <summary>
/// Where per-speaker emotion timelines live: in memory when embedded, Redis when distributed.
/// Everything is keyed by tenant first: two tenants can use the same call id without touching each other, and a reader
/// sees only the tenant it asks for. Writes are idempotent: a window is keyed by (tenant, call, speaker, window index) and the first write of a key
/// wins, so a replayed message never adds a point, and a window recomputed after a restart or takeover
/// (whose vote may lack history) never changes what was already reported. Stream completion is recorded
/// by <see cref="CompleteStreamAsync"/>, not by a window's IsFinal flag. Both writes say whether they stored anything new,
/// so that what follows a write (update notifications, alerts, the call index's "last update") happens once per change,
/// never for a replay.
/// </summary>
public interface ITimelineStore
{
    /// <summary>
    /// Stores the window; true when it was new. False when that index is already stored, or when the store refuses it: a store
    /// with a retention refuses windows whose event time is older than the retention (a replay of a call that has expired
    /// does not bring it back).
    /// </summary>
    ValueTask<bool> AppendAsync(EmotionWindow window, CancellationToken cancellationToken);

    /// <summary>
    /// Marks a speaker's stream as ended (the call ends when all its streams have); true when it was not marked yet. A store with
    /// a retention does not create a call it no longer holds (expired) only to mark it ended: false.
    /// </summary>
    ValueTask<bool> CompleteStreamAsync(StreamKey stream, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the call's metadata from the platform (agent, queue, platform ids). Merged by key, the first value of a key
    /// wins: every stream of the call carries the same metadata, and a replay must not change what was reported.
    /// </summary>
    ValueTask SetMetadataAsync(string tenant, string callId, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);

    /// <summary>All windows of a tenant's call, per speaker, ordered by index; null when the tenant has no such call.</summary>
    ValueTask<CallWindows?> GetCallAsync(string tenant, string callId, CancellationToken cancellationToken);

    /// <summary>The tenant's active and recent calls, newest first.</summary>
    ValueTask<IReadOnlyList<CallInfo>> ListCallsAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// Removes everything stored of the tenant's call (GDPR erasure): its windows, its streams' states and its entry in the call
    /// index; another tenant's call with the same id is untouched. True when there was something to remove. A call still streaming
    /// is stored again by its next window: erase calls that have ended.
    /// </summary>
    ValueTask<bool> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken);
}

/// <param name="Metadata">the call's metadata (<see cref="ITimelineStore.SetMetadataAsync"/>); empty when the platform sent none</param>
public sealed record CallInfo(string CallId, IReadOnlyList<string> Speakers, bool IsActive, DateTimeOffset LastUpdate,
    IReadOnlyDictionary<string, string>? Metadata = null);

public sealed record SpeakerWindows(string Speaker, SpeakerRole Role, IReadOnlyList<EmotionWindow> Windows, bool IsComplete);

public sealed record CallWindows(string CallId, IReadOnlyList<SpeakerWindows> Speakers, IReadOnlyDictionary<string, string>? Metadata = null);
