using Streaming.Contracts;

namespace Streaming.Timelines;

/// <summary>
/// How far behind real time the pipeline runs, measured where it ends: the time from the audio chunk ingest accepted (the
/// window's event time) to the window stored, as the largest such delay over the last <see cref="Period"/>. Ingest reads it
/// to refuse new calls while the pipeline cannot keep up (docs/distributed.md, "Overload"). A pipeline that stores nothing
/// at all would read as no delay, so a stall counts too: while streams are open (a window stored, the final one not yet),
/// the time since the freshest of them last stored a window, beyond its window hop, is delay the next window will carry.
/// One per process, fed by <see cref="LagMeasuredTimelineStore"/>; a lock per stored window (about one per stream per second).
/// </summary>
public sealed class PipelineLag(TimeProvider? time = null)
{
    /// <summary>How long a delay keeps counting: a few hops, so one late window is seen by the next reads, not for minutes.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A stream with no window for this long no longer counts as open: its end was never seen (an ingest instance died with the
    /// call). A pipeline stalled for longer than this reads as no delay again; health checks and the consumer lag cover that.
    /// </summary>
    public static readonly TimeSpan StreamHorizon = TimeSpan.FromSeconds(60);

    private const int Buckets = 5; // one per second of the period

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly double[] _bucketMaxMs = new double[Buckets];
    private readonly long[] _bucketSecond = new long[Buckets];
    private readonly Dictionary<StreamKey, OpenStream> _open = [];

    /// <summary>A stream between its first and final window: when it last stored one, and the hop between its windows.</summary>
    private record struct OpenStream(DateTimeOffset StoredAt, double StartSeconds, double HopSeconds);

    /// <summary>Records a window just stored for the first time (a replayed window says nothing about the pipeline now).</summary>
    public void Stored(EmotionWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (window.EventTime != default)
            {
                var second = now.ToUnixTimeSeconds();
                var bucket = (int)(second % Buckets);
                if (_bucketSecond[bucket] != second) (_bucketSecond[bucket], _bucketMaxMs[bucket]) = (second, 0);
                _bucketMaxMs[bucket] = Math.Max(_bucketMaxMs[bucket], (now - window.EventTime).TotalMilliseconds);
            }
            if (window.IsFinal)
            {
                _open.Remove(window.Stream);
                return;
            }
            var hop = _open.TryGetValue(window.Stream, out var before) && window.StartSeconds > before.StartSeconds
                ? window.StartSeconds - before.StartSeconds
                : before.HopSeconds;
            _open[window.Stream] = new OpenStream(now, window.StartSeconds, hop > 0 ? hop : 1);
        }
    }

    /// <summary>The delay now: the largest of the last <see cref="Period"/>'s stored windows, or the stall, whichever is more.</summary>
    public TimeSpan Current()
    {
        var now = _time.GetUtcNow();
        var second = now.ToUnixTimeSeconds();
        lock (_lock)
        {
            var largest = 0.0;
            for (var i = 0; i < Buckets; i++)
                if (second - _bucketSecond[i] < Buckets) largest = Math.Max(largest, _bucketMaxMs[i]);
            // The freshest open stream: if even it is overdue, nothing is coming through.
            var overdue = double.MaxValue;
            List<StreamKey>? gone = null;
            foreach (var (stream, open) in _open)
            {
                if (now - open.StoredAt > StreamHorizon)
                {
                    (gone ??= []).Add(stream);
                    continue;
                }
                overdue = Math.Min(overdue, (now - open.StoredAt).TotalMilliseconds - open.HopSeconds * 1000);
            }
            foreach (var stream in gone ?? []) _open.Remove(stream);
            if (overdue != double.MaxValue) largest = Math.Max(largest, overdue);
            return TimeSpan.FromMilliseconds(largest);
        }
    }
}

/// <summary>
/// The store a pipeline's aggregator writes through: the inner store, then <see cref="PipelineLag.Stored"/> for each window it
/// stored new, so the delay covers the whole write (Redis, alerts, live views, archive). Everything else passes through.
/// </summary>
public sealed class LagMeasuredTimelineStore(ITimelineStore inner, PipelineLag lag) : DelegatingTimelineStore(inner)
{
    public override async ValueTask<bool> AppendAsync(EmotionWindow window, CancellationToken cancellationToken)
    {
        var stored = await base.AppendAsync(window, cancellationToken).ConfigureAwait(false);
        if (stored) lag.Stored(window);
        return stored;
    }
}

/// <summary>A store that adds to another: every call passes to <paramref name="inner"/> unless a subclass overrides it.</summary>
public abstract class DelegatingTimelineStore(ITimelineStore inner) : ITimelineStore
{
    public virtual ValueTask<bool> AppendAsync(EmotionWindow window, CancellationToken cancellationToken) => inner.AppendAsync(window, cancellationToken);

    public virtual ValueTask<bool> CompleteStreamAsync(StreamKey stream, CancellationToken cancellationToken) => inner.CompleteStreamAsync(stream, cancellationToken);

    public virtual ValueTask SetMetadataAsync(string tenant, string callId, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        inner.SetMetadataAsync(tenant, callId, metadata, cancellationToken);

    public virtual ValueTask<CallWindows?> GetCallAsync(string tenant, string callId, CancellationToken cancellationToken) => inner.GetCallAsync(tenant, callId, cancellationToken);

    public virtual ValueTask<IReadOnlyList<CallInfo>> ListCallsAsync(string tenant, CancellationToken cancellationToken) => inner.ListCallsAsync(tenant, cancellationToken);

    public virtual ValueTask<bool> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken) => inner.EraseCallAsync(tenant, callId, cancellationToken);
}
