using System.Text.Json.Serialization;
using Streaming.Contracts;

namespace Streaming.Timelines;

/// <summary>
/// A stretch of one speaker's timeline with one reported (voted) label. Times are seconds from the start of
/// the stream. <see cref="Confidence"/> and <see cref="Probabilities"/> are the means over the segment's
/// windows; silence segments have confidence 0 and no probabilities.
/// </summary>
public sealed record Segment(double Start, double End, string Label, float Confidence, IReadOnlyDictionary<string, float> Probabilities)
{
    [JsonIgnore]
    public double Duration => End - Start;
}

/// <summary>
/// One classified window as the timeline shows it. <see cref="Start"/>/<see cref="End"/> are the audio the
/// window covers (windows overlap); <see cref="Label"/> is the window's own argmax, <see cref="VotedLabel"/>
/// what the timeline reports.
/// </summary>
public sealed record TimelineWindow(long Index, double Start, double End, string Label, string VotedLabel, float Confidence,
    IReadOnlyDictionary<string, float> Probabilities);

public sealed record SpeakerTimeline(
    string Speaker,
    [property: JsonConverter(typeof(JsonStringEnumConverter<SpeakerRole>))] SpeakerRole Role,
    IReadOnlyList<Segment> Segments,
    IReadOnlyList<TimelineWindow> Windows,
    bool IsComplete);

/// <summary>A continuous stretch of one label: where it starts and how long it lasts, in seconds.</summary>
public sealed record Stretch(string Speaker, double Start, double Seconds);

/// <summary>
/// Totals over a speaker (or a whole call). <see cref="EmotionShare"/> is each label's fraction of the speech
/// time (silence excluded), every model label present; <see cref="DominantEmotion"/> the label with the largest
/// share (null without speech); <see cref="LongestAngry"/> the longest continuous angry segment (null if none).
/// </summary>
public sealed record EmotionStats(
    double SpeechSeconds,
    double SilenceSeconds,
    IReadOnlyDictionary<string, double> EmotionShare,
    string? DominantEmotion,
    Stretch? LongestAngry,
    int Windows,
    int SpeechWindows);

/// <summary>The call's totals over all speakers, and each speaker's, keyed by speaker.</summary>
public sealed record CallSummary(EmotionStats Call, IReadOnlyDictionary<string, EmotionStats> Speakers);

/// <param name="Metadata">the call metadata the platform sent (agent, queue, platform ids); absent when it sent none</param>
public sealed record CallTimeline(
    string CallId,
    IReadOnlyList<SpeakerTimeline> Speakers,
    CallSummary Summary,
    string ModelName,
    string ModelVersion,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Metadata = null);
