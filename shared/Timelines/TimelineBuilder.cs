using Streaming.Contracts;

namespace Streaming.Timelines;

/// <summary>
/// Turns classified windows into per-speaker segments and call summaries.
/// <para>
/// Windows overlap (the shipped model: a 2 s window every 1 s), so each window is given the part of the time axis nearest to its
/// centre: the boundary between consecutive overlapping windows is the midpoint of their centres; the first
/// window starts at its own start and the last ends at its own end. Segments then tile the speaker's time
/// without overlap, and durations add up to the stream's length. Consecutive windows with the same voted
/// label merge into one segment; silence windows form "silence" segments; a gap in the windows (audio that
/// never arrived) ends a segment.
/// </para>
/// </summary>
public sealed class TimelineBuilder
{
    private readonly string[] _labels;
    private readonly string _angry;

    /// <param name="labels">The model's labels, in the order of <see cref="EmotionWindow.Probabilities"/>.</param>
    /// <param name="angryLabel">The label whose longest stretch the summary reports.</param>
    public TimelineBuilder(IReadOnlyList<string> labels, string angryLabel = "angry")
    {
        ArgumentNullException.ThrowIfNull(labels);
        _labels = [.. labels];
        _angry = angryLabel;
    }

    public TimelineBuilder(ModelContract contract) : this(contract.Labels)
    {
    }

    public CallTimeline BuildCall(CallWindows call, string modelName, string modelVersion)
    {
        ArgumentNullException.ThrowIfNull(call);
        var speakers = call.Speakers.Select(s => BuildSpeaker(s.Speaker, s.Role, s.Windows, s.IsComplete)).ToList();
        var perSpeaker = speakers.ToDictionary(s => s.Speaker, Summarize);
        return new CallTimeline(call.CallId, speakers, new CallSummary(Stats(speakers), perSpeaker), modelName, modelVersion,
            call.Metadata is { Count: > 0 } metadata ? metadata : null);
    }

    /// <summary>Segments and windows of one speaker; <paramref name="windows"/> in index order (as the store returns them).</summary>
    public SpeakerTimeline BuildSpeaker(string speaker, SpeakerRole role, IReadOnlyList<EmotionWindow> windows, bool isComplete = true)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var points = windows.Select(w => new TimelineWindow(w.Index, w.StartSeconds, w.EndSeconds, w.Label, w.VotedLabel, w.Confidence,
            Named(w.Probabilities))).ToList();
        return new SpeakerTimeline(speaker, role, Merge(windows), points, isComplete);
    }

    /// <summary>Merges consecutive windows with the same voted label into segments (see the class remarks for the time split).</summary>
    public IReadOnlyList<Segment> Merge(IReadOnlyList<EmotionWindow> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var segments = new List<Segment>();
        var probabilitySums = new double[_labels.Length];
        var runFirst = 0;
        var runStart = 0.0;
        var spanStart = windows.Count > 0 ? windows[0].StartSeconds : 0.0;

        for (var i = 0; i < windows.Count; i++)
        {
            var w = windows[i];
            var next = i + 1 < windows.Count ? windows[i + 1] : null;
            var overlaps = next is not null && next.StartSeconds < w.EndSeconds;
            var spanEnd = overlaps ? Boundary(w, next!) : w.EndSeconds;
            if (i == runFirst) runStart = spanStart;

            // The run ends at the last window, before a label change, or before a gap.
            if (next is null || (!overlaps && next.StartSeconds > w.EndSeconds) || next.VotedLabel != w.VotedLabel)
            {
                segments.Add(Segment(windows, runFirst, i, runStart, Math.Max(runStart, spanEnd), probabilitySums));
                runFirst = i + 1;
            }
            spanStart = next is null ? 0 : overlaps ? spanEnd : next.StartSeconds;
        }
        return segments;
    }

    /// <summary>Totals for one speaker.</summary>
    public EmotionStats Summarize(SpeakerTimeline speaker)
    {
        ArgumentNullException.ThrowIfNull(speaker);
        return Stats([speaker]);
    }

    private EmotionStats Stats(IReadOnlyList<SpeakerTimeline> speakers)
    {
        var seconds = _labels.ToDictionary(l => l, _ => 0.0);
        double speech = 0, silence = 0;
        Stretch? angry = null;
        int windows = 0, speechWindows = 0;
        foreach (var speaker in speakers)
        {
            windows += speaker.Windows.Count;
            speechWindows += speaker.Windows.Count(w => w.Label != EmotionWindow.Silence);
            foreach (var segment in speaker.Segments)
            {
                if (segment.Label == EmotionWindow.Silence)
                {
                    silence += segment.Duration;
                    continue;
                }
                speech += segment.Duration;
                seconds[segment.Label] = seconds.GetValueOrDefault(segment.Label) + segment.Duration;
                if (segment.Label == _angry && (angry is null || segment.Duration > angry.Seconds))
                    angry = new Stretch(speaker.Speaker, segment.Start, segment.Duration);
            }
        }

        var share = seconds.ToDictionary(p => p.Key, p => speech > 0 ? p.Value / speech : 0.0);
        // Ties go to the earlier label in the model's order: deterministic output for equal shares.
        string? dominant = speech > 0 ? share.MaxBy(p => p.Value).Key : null;
        return new EmotionStats(speech, silence, share, dominant, angry, windows, speechWindows);
    }

    private Segment Segment(IReadOnlyList<EmotionWindow> windows, int first, int last, double start, double end, double[] sums)
    {
        Array.Clear(sums);
        double confidence = 0;
        var withProbabilities = 0;
        for (var i = first; i <= last; i++)
        {
            confidence += windows[i].Confidence;
            if (windows[i].Probabilities.Length != _labels.Length) continue;
            withProbabilities++;
            for (var l = 0; l < _labels.Length; l++) sums[l] += windows[i].Probabilities[l];
        }

        var count = last - first + 1;
        var probabilities = new Dictionary<string, float>(withProbabilities > 0 ? _labels.Length : 0);
        if (withProbabilities > 0)
            for (var l = 0; l < _labels.Length; l++) probabilities[_labels[l]] = (float)(sums[l] / withProbabilities);
        return new Segment(start, end, windows[first].VotedLabel, (float)(confidence / count), probabilities);
    }

    /// <summary>Midpoint of the two windows' centres, kept inside their overlap.</summary>
    private static double Boundary(EmotionWindow a, EmotionWindow b)
    {
        var mid = (a.StartSeconds + a.EndSeconds + b.StartSeconds + b.EndSeconds) / 4;
        return Math.Clamp(mid, b.StartSeconds, a.EndSeconds);
    }

    private IReadOnlyDictionary<string, float> Named(float[] probabilities)
    {
        if (probabilities.Length != _labels.Length) return new Dictionary<string, float>();
        var named = new Dictionary<string, float>(_labels.Length);
        for (var l = 0; l < _labels.Length; l++) named[_labels[l]] = probabilities[l];
        return named;
    }
}
