using Streaming.Alerts;
using Streaming.Archive;
using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Dashboard;

/// <summary>One row of the calls wall (event <c>call</c> of <c>/api/live/calls</c>; schema in docs/dashboard.md).</summary>
public sealed record WallCall(
    string CallId,
    bool Active,
    DateTimeOffset LastUpdate,
    string? AgentId,
    string? Queue,
    string? CustomerLabel,
    IReadOnlyList<double> AngrySparkline,
    double AngrySeconds,
    int OpenAlerts,
    string? TopSeverity,
    long? StoredAt);

/// <summary>A finished (or active) call as the history lists it.</summary>
public sealed record HistoryCall(string CallId, bool Active, DateTimeOffset LastUpdate, string? AgentId, string? Queue,
    string? CustomerDominant, double AngrySeconds, int Alerts);

public sealed record HistoryPage(IReadOnlyList<HistoryCall> Calls, string? Next);

/// <summary>Event <c>call</c> of a call's stream: who speaks, whether it is live, and why an agent row is absent.</summary>
public sealed record CallHeader(string CallId, bool Active, string? AgentId, string? Queue, IReadOnlyList<SpeakerHeader> Speakers, string? AgentPolicy);

public sealed record SpeakerHeader(string Speaker, string Role, bool IsComplete);

/// <summary>Event <c>window</c>: one new window of one speaker; <see cref="StoredAt"/> (unix ms) when it was stored, for the push latency.</summary>
public sealed record WindowEvent(string Speaker, string Role, TimelineWindow Window, long? StoredAt);

/// <summary>What the views compute from a call's windows and alerts.</summary>
internal static class LiveModels
{
    /// <summary>How many of the customer's most recent windows the wall's sparkline shows (about two minutes).</summary>
    public const int SparklineWindows = 120;

    public const string NotAnalysedByPolicy = "not analysed (policy)";

    public static SpeakerWindows? Customer(CallWindows call) => call.Speakers.FirstOrDefault(s => s.Role == SpeakerRole.Customer);

    public static bool IsActive(CallWindows call) => call.Speakers.Count == 0 || call.Speakers.Any(s => !s.IsComplete);

    public static double AngrySeconds(TimelineBuilder builder, SpeakerWindows? speaker, string angry = "angry")
    {
        if (speaker is null) return 0;
        var stats = builder.Summarize(builder.BuildSpeaker(speaker.Speaker, speaker.Role, speaker.Windows, speaker.IsComplete));
        return stats.SpeechSeconds * stats.EmotionShare.GetValueOrDefault(angry);
    }

    public static WallCall Wall(CallWindows call, CallInfo? info, CallAssignment? assignment, IReadOnlyList<Alert> alerts, TimelineBuilder builder, int angryIndex, long? storedAt)
    {
        var customer = Customer(call);
        var windows = customer?.Windows ?? [];
        var current = windows.Count > 0 ? windows[^1].VotedLabel : null;
        var spark = windows.Skip(Math.Max(0, windows.Count - SparklineWindows))
            .Select(w => angryIndex >= 0 && angryIndex < w.Probabilities.Length ? Math.Round(w.Probabilities[angryIndex], 3) : 0.0).ToList();
        var open = alerts.Where(a => !a.Acknowledged).ToList();
        return new WallCall(call.CallId, IsActive(call), info?.LastUpdate ?? DateTimeOffset.MinValue, assignment?.AgentId, assignment?.Queue,
            current, spark, Math.Round(AngrySeconds(builder, customer), 1), open.Count, open.Count == 0 ? null : open.MaxBy(a => a.Severity)!.Severity.ToString(),
            storedAt);
    }

    public static CallHeader Header(CallWindows call, CallAssignment? assignment, bool customerOnly) => new(
        call.CallId, IsActive(call), assignment?.AgentId, assignment?.Queue,
        [.. call.Speakers.Select(s => new SpeakerHeader(s.Speaker, s.Role.ToString(), s.IsComplete))],
        customerOnly && call.Speakers.All(s => s.Role != SpeakerRole.Agent) ? NotAnalysedByPolicy : null);
}

/// <summary>
/// Who handles the call, from the call metadata the platform sent: the keys <c>agentId</c> and <c>queue</c> (Twilio
/// customParameters, AudioHook customConfig, the native start's metadata).
/// </summary>
public sealed record CallAssignment(string? AgentId, string? Queue)
{
    public const string AgentKey = WindowRow.AgentMetadataKey;
    public const string QueueKey = WindowRow.QueueMetadataKey;

    public static CallAssignment? From(IReadOnlyDictionary<string, string>? metadata) => metadata is null ? null
        : new CallAssignment(metadata.GetValueOrDefault(AgentKey), metadata.GetValueOrDefault(QueueKey));
}
