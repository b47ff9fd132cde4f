using Streaming.Contracts;

namespace Streaming.Alerts;

/// <summary>
/// Evaluates a tenant's rules over one stream, window by window, in index order.
/// <para>
/// Windows overlap (a 2 s window every 1 s), so each window is counted for the audio it adds: from the end of the previous
/// window (or its own start, for the first window and after a gap) to its own end. A rule's condition is evaluated after each
/// window; an alert fires when the condition becomes true and not again until it has been false (one alert per episode).
/// </para>
/// Memory is bounded by the longest look-back: older windows are folded into per-label totals.
/// </summary>
public sealed class StreamAlertEvaluator
{
    // Durations are sums of window bounds in seconds: allow for binary rounding when comparing with a threshold.
    private const double Tolerance = 1e-9;

    private readonly IReadOnlyList<AlertRule> _rules;
    private readonly bool[] _inEpisode;
    private readonly double _longestLookBack;
    private readonly Queue<OwnedSpan> _recent = new();
    private readonly Dictionary<string, double> _speechByLabel = new(StringComparer.Ordinal);
    private double _speech;
    private double _end = double.NegativeInfinity;
    private long _lastIndex = -1;

    public StreamAlertEvaluator(IReadOnlyList<AlertRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = rules;
        _inEpisode = new bool[rules.Count];
        _longestLookBack = rules.Count == 0 ? 0 : rules.Max(r => r.WithinSeconds);
    }

    /// <summary>Adds the next window; returns the rules whose episode starts with it. A window at or before the last one is ignored (a replay).</summary>
    public IReadOnlyList<AlertRule> Add(EmotionWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (window.Index <= _lastIndex) return [];
        _lastIndex = window.Index;
        var start = Math.Max(window.StartSeconds, _end);
        if (window.EndSeconds <= start) return [];
        _end = window.EndSeconds;

        var span = new OwnedSpan(start, window.EndSeconds, window.VotedLabel);
        _recent.Enqueue(span);
        if (span.IsSpeech)
        {
            _speech += span.Duration;
            _speechByLabel[span.Label] = _speechByLabel.GetValueOrDefault(span.Label) + span.Duration;
        }
        while (_recent.TryPeek(out var oldest) && oldest.End <= _end - _longestLookBack) _recent.Dequeue();

        List<AlertRule>? fired = null;
        for (var r = 0; r < _rules.Count; r++)
        {
            var holds = Holds(_rules[r]);
            if (holds && !_inEpisode[r]) (fired ??= []).Add(_rules[r]);
            _inEpisode[r] = holds;
        }
        return fired ?? (IReadOnlyList<AlertRule>)[];
    }

    /// <summary>Seconds of call time reached so far (the end of the last window).</summary>
    public double CallSeconds => _end;

    private bool Holds(AlertRule rule)
    {
        var from = _end - rule.WithinSeconds;
        double label = 0, speech = 0;
        foreach (var span in _recent)
        {
            var inside = Math.Min(span.End, _end) - Math.Max(span.Start, from);
            if (inside <= 0 || !span.IsSpeech) continue;
            speech += inside;
            if (span.Label == rule.Label) label += inside;
        }
        if (rule.Kind == AlertRuleKind.LabelWithin) return label >= rule.Seconds - Tolerance;

        var earlierSpeech = _speech - speech;
        if (speech <= 0 || earlierSpeech < rule.MinEarlierSpeechSeconds - Tolerance || earlierSpeech <= Tolerance) return false;
        var earlierShare = (_speechByLabel.GetValueOrDefault(rule.Label) - label) / earlierSpeech;
        return label / speech - earlierShare >= rule.Rise - Tolerance;
    }

    private readonly record struct OwnedSpan(double Start, double End, string Label)
    {
        public double Duration => End - Start;

        public bool IsSpeech => Label != EmotionWindow.Silence;
    }
}
