using Streaming.Contracts;

namespace Streaming.Alerts;

/// <summary>
/// Turns windows as they arrive into alerts, per tenant and stream. Only customer streams are watched (see <see cref="AlertRule"/>).
/// Thread-safe. A stream's state is dropped when its final window arrives, or after <see cref="IdleEviction"/> without a window
/// (a stream whose end never arrived), so memory stays bounded by the active streams.
/// </summary>
public sealed class AlertEngine(Func<string, IReadOnlyList<AlertRule>> rulesOfTenant, TimeProvider? time = null)
{
    public static readonly TimeSpan IdleEviction = TimeSpan.FromMinutes(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<StreamKey, Tracked> _streams = [];
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    /// <summary>Adds the window to its stream (the tenant is part of the stream's identity); returns the alerts it starts.</summary>
    public IReadOnlyList<Alert> Observe(EmotionWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        var tenant = window.Stream.Tenant;
        if (window.Role != SpeakerRole.Customer) return [];
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            SweepIdle(now);
            var key = window.Stream;
            if (!_streams.TryGetValue(key, out var tracked))
            {
                var rules = rulesOfTenant(tenant);
                if (rules.Count == 0) return [];
                tracked = new Tracked(new StreamAlertEvaluator(rules));
                _streams.Add(key, tracked);
            }
            tracked.LastSeen = now;
            var fired = tracked.Evaluator.Add(window);
            if (window.IsFinal) _streams.Remove(key);
            return fired.Select(rule => new Alert(
                Alert.EpisodeId(tenant, window.Stream.CallId, window.Stream.Speaker, rule.Name, window.Index),
                tenant, window.Stream.CallId, window.Stream.Speaker, rule.Name, rule.Severity, window.EventTime,
                tracked.Evaluator.CallSeconds, Describe(rule))).ToList();
        }
    }

    /// <summary>Streams being watched now.</summary>
    public int ActiveStreams
    {
        get
        {
            lock (_lock) return _streams.Count;
        }
    }

    public static string Describe(AlertRule rule) => rule.Kind switch
    {
        AlertRuleKind.LabelWithin when rule.Seconds >= rule.WithinSeconds => $"customer {rule.Label} for {rule.Seconds:0.#} s",
        AlertRuleKind.LabelWithin => $"customer {rule.Label} for {rule.Seconds:0.#} s within the last {rule.WithinSeconds:0.#} s",
        _ => $"customer's {rule.Label} share rose by {rule.Rise:P0} over the last {rule.WithinSeconds:0.#} s",
    };

    private void SweepIdle(DateTimeOffset now)
    {
        if (now - _lastSweep < TimeSpan.FromMinutes(1)) return;
        _lastSweep = now;
        foreach (var (key, tracked) in _streams.ToList())
            if (now - tracked.LastSeen > IdleEviction) _streams.Remove(key);
    }

    private sealed class Tracked(StreamAlertEvaluator evaluator)
    {
        public StreamAlertEvaluator Evaluator { get; } = evaluator;
        public DateTimeOffset LastSeen { get; set; }
    }
}
