using Streaming.Contracts;

namespace Streaming.Timelines;

/// <summary>
/// Timelines in process memory, for the embedded pipeline and tests. Thread-safe (one lock: writes are a
/// dictionary update each, far below contention at a window per second per stream). Idempotent like every
/// <see cref="ITimelineStore"/>: a window is stored under (tenant, call, speaker, index) and the first write wins.
/// Active calls are kept until they end; of the ended ones the most recent <c>maxEndedCalls</c> are kept.
/// </summary>
public sealed class InMemoryTimelineStore : ITimelineStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Tenant, string CallId), CallState> _calls = [];
    private readonly TimeProvider _time;
    private readonly int _maxEndedCalls;

    public InMemoryTimelineStore(TimeProvider? time = null, int maxEndedCalls = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxEndedCalls);
        _time = time ?? TimeProvider.System;
        _maxEndedCalls = maxEndedCalls;
    }

    /// <summary>Stores the window unless its index is stored already (no retention here: nothing is refused for its age).</summary>
    public ValueTask<bool> AppendAsync(EmotionWindow window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(window);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var (call, speaker) = Speaker(window.Stream, window.Role);
            if (!speaker.Windows.TryAdd(window.Index, window)) return ValueTask.FromResult(false);
            call.LastUpdate = _time.GetUtcNow();
            if (speaker.Role == SpeakerRole.Unknown) speaker.Role = window.Role;
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask SetMetadataAsync(string tenant, string callId, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var call = Call(tenant, callId);
            foreach (var (key, value) in metadata) call.Metadata.TryAdd(key, value);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> CompleteStreamAsync(StreamKey stream, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var (call, speaker) = Speaker(stream, SpeakerRole.Unknown);
            if (speaker.IsComplete) return ValueTask.FromResult(false);
            speaker.IsComplete = true;
            call.LastUpdate = _time.GetUtcNow();
            EvictEndedCalls();
        }
        return ValueTask.FromResult(true);
    }

    public ValueTask<CallWindows?> GetCallAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(callId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_calls.TryGetValue((tenant, callId), out var call)) return ValueTask.FromResult<CallWindows?>(null);
            var speakers = call.Speakers
                .Select(s => new SpeakerWindows(s.Name, s.Role, [.. s.Windows.Values], s.IsComplete))
                .ToList();
            return ValueTask.FromResult<CallWindows?>(new CallWindows(callId, speakers, new Dictionary<string, string>(call.Metadata)));
        }
    }

    public ValueTask<IReadOnlyList<CallInfo>> ListCallsAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            IReadOnlyList<CallInfo> calls = _calls.Values
                .Where(c => c.Tenant == tenant)
                .OrderByDescending(c => c.LastUpdate)
                .Select(c => new CallInfo(c.Id, [.. c.Speakers.Select(s => s.Name)], !c.HasEnded, c.LastUpdate, new Dictionary<string, string>(c.Metadata)))
                .ToList();
            return ValueTask.FromResult(calls);
        }
    }

    public ValueTask<bool> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(callId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock) return ValueTask.FromResult(_calls.Remove((tenant, callId)));
    }

    /// <summary>The call, created when new (its last update then starts now; later it moves only when something new is stored).</summary>
    private CallState Call(string tenant, string callId)
    {
        if (!_calls.TryGetValue((tenant, callId), out var call))
        {
            call = new CallState(tenant, callId) { LastUpdate = _time.GetUtcNow() };
            _calls.Add((tenant, callId), call);
        }
        return call;
    }

    /// <summary>The stream's speaker and its call, created when new.</summary>
    private (CallState Call, SpeakerState Speaker) Speaker(StreamKey stream, SpeakerRole role)
    {
        var call = Call(stream.Tenant, stream.CallId);
        var speaker = call.Speakers.Find(s => s.Name == stream.Speaker);
        if (speaker is null)
        {
            speaker = new SpeakerState(stream.Speaker, role);
            call.Speakers.Add(speaker);
        }
        return (call, speaker);
    }

    private void EvictEndedCalls()
    {
        var ended = _calls.Values.Where(c => c.HasEnded).ToList();
        if (ended.Count <= _maxEndedCalls) return;
        foreach (var call in ended.OrderBy(c => c.LastUpdate).Take(ended.Count - _maxEndedCalls)) _calls.Remove((call.Tenant, call.Id));
    }

    private sealed class CallState(string tenant, string id)
    {
        public string Tenant { get; } = tenant;
        public string Id { get; } = id;
        public List<SpeakerState> Speakers { get; } = [];
        public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
        public DateTimeOffset LastUpdate { get; set; }
        public bool HasEnded => Speakers.Count > 0 && Speakers.TrueForAll(s => s.IsComplete);
    }

    private sealed class SpeakerState(string name, SpeakerRole role)
    {
        public string Name { get; } = name;
        public SpeakerRole Role { get; set; } = role;
        public SortedDictionary<long, EmotionWindow> Windows { get; } = [];
        public bool IsComplete { get; set; }
    }
}
