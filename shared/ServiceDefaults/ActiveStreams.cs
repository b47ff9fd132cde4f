using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Streaming.Contracts;

namespace Streaming.ServiceDefaults;

/// <summary>
/// The streams and calls one stage instance is working on, behind the gauges <c>streaming.stage.active_streams</c> and
/// <c>streaming.stage.active_calls</c> (tag <c>stage</c>; Prometheus adds the pod, so they read per instance). A stream counts from
/// a message of it until its final message, until its call's partition moves to another instance, or until
/// <see cref="IdleTimeout"/> passes without a message (a stream whose end never came: a dead client, a crashed upstream).
/// Thread-safe: the consume thread writes, the metrics reader reads. An instance is observed for the life of the process (one per stage host).
/// </summary>
public sealed class ActiveStreams
{
    /// <summary>Live audio sends a chunk at least every few seconds, silence included: a stream quiet this long has ended.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);

    private static readonly Meter Meter = new("Streaming.Stages");
    private static readonly ConcurrentDictionary<ActiveStreams, byte> Instances = new();

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<StreamKey, DateTimeOffset> _streams = [];
    private readonly Dictionary<(string Tenant, string CallId), int> _streamsPerCall = [];
    private DateTimeOffset _nextSweep;

    static ActiveStreams()
    {
        Meter.CreateObservableGauge("streaming.stage.active_streams", () => Observe(a => a.Streams), "{stream}",
            "Streams this stage instance holds: a message seen, the final one not yet, none older than 2 minutes");
        Meter.CreateObservableGauge("streaming.stage.active_calls", () => Observe(a => a.Calls), "{call}",
            "Calls with at least one active stream on this stage instance");
    }

    /// <param name="stage">the gauges' <c>stage</c> tag: featurizer, classifier or aggregator</param>
    public ActiveStreams(string stage, TimeProvider? time = null)
    {
        Stage = stage;
        _time = time ?? TimeProvider.System;
        Instances[this] = 0;
    }

    public string Stage { get; }

    public int Streams
    {
        get
        {
            lock (_lock)
            {
                Sweep(_time.GetUtcNow());
                return _streams.Count;
            }
        }
    }

    public int Calls
    {
        get
        {
            lock (_lock)
            {
                Sweep(_time.GetUtcNow());
                return _streamsPerCall.Count;
            }
        }
    }

    public void Observe(IStreamMessage message)
    {
        var stream = message.Stream;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (message.IsFinal) Remove(stream);
            else if (_streams.TryAdd(stream, now)) _streamsPerCall[(stream.Tenant, stream.CallId)] = _streamsPerCall.GetValueOrDefault((stream.Tenant, stream.CallId)) + 1;
            else _streams[stream] = now;
            Sweep(now);
        }
    }

    /// <summary>Forgets a call's streams of every tenant (the host no longer owns its partition; Kafka keys carry only the call id).</summary>
    public void DropCall(string callId)
    {
        lock (_lock)
        {
            foreach (var stream in _streams.Keys.Where(s => s.CallId == callId).ToList()) Remove(stream);
        }
    }

    /// <summary>Forgets one stream (the stage ended it for being idle).</summary>
    public void Forget(StreamKey stream)
    {
        lock (_lock) Remove(stream);
    }

    private void Remove(StreamKey stream)
    {
        if (!_streams.Remove(stream)) return;
        var call = (stream.Tenant, stream.CallId);
        var left = _streamsPerCall[call] - 1;
        if (left == 0) _streamsPerCall.Remove(call);
        else _streamsPerCall[call] = left;
    }

    private void Sweep(DateTimeOffset now)
    {
        if (now < _nextSweep) return;
        _nextSweep = now + TimeSpan.FromSeconds(10);
        foreach (var stream in _streams.Where(s => now - s.Value > IdleTimeout).Select(s => s.Key).ToList()) Remove(stream);
    }

    private static IEnumerable<Measurement<int>> Observe(Func<ActiveStreams, int> count) =>
        Instances.Keys.Select(a => new Measurement<int>(count(a), new KeyValuePair<string, object?>("stage", a.Stage)));
}

/// <summary>A stage that reports every message it is handed to <see cref="ActiveStreams"/>, then hands the batch on.</summary>
internal class CountingStage<T>(IStage<T> inner, ActiveStreams active) : IStage<T> where T : IStreamMessage
{
    /// <summary>Counts <paramref name="stage"/>'s streams, keeping it resumable if it is (the host commits by it).</summary>
    public static IStage<T> Wrap(IStage<T> stage, ActiveStreams active) =>
        stage is IResumableStage<T> resumable ? new Resumable(resumable, active) : new CountingStage<T>(stage, active);

    private IStage<T> Inner => inner;

    private ActiveStreams Active => active;

    public ValueTask HandleAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken)
    {
        foreach (var message in batch) active.Observe(message);
        return inner.HandleAsync(batch, cancellationToken);
    }

    private sealed class Resumable(IResumableStage<T> stage, ActiveStreams counter) : CountingStage<T>(stage, counter), IResumableStage<T>
    {
        private IResumableStage<T> Stage => (IResumableStage<T>)Inner;

        public StreamKey StreamOf(T message) => Stage.StreamOf(message);

        public long? ResumeSequence(StreamKey stream) => Stage.ResumeSequence(stream);

        public void DropCall(string callId)
        {
            Stage.DropCall(callId);
            Active.DropCall(callId);
        }

        public async ValueTask EndStreamAsync(StreamKey stream, CancellationToken cancellationToken)
        {
            await Stage.EndStreamAsync(stream, cancellationToken).ConfigureAwait(false);
            Active.Forget(stream);
        }
    }
}
