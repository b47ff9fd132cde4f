using System.Diagnostics.Metrics;

namespace Streaming.Timelines.Redis;

/// <summary>End-to-end latency of the distributed pipeline, measured where it ends: the window stored in Redis.</summary>
public static class TimelineInstrumentation
{
    public const string Name = "Streaming.Timelines.Redis";

    private static readonly Meter Meter = new(Name);

    /// <summary>From the event time ingest stamped on the audio that completed the window to the window's first store.</summary>
    public static readonly Histogram<double> Latency = Meter.CreateHistogram("streaming.timeline.latency", "s",
        "Audio accepted at ingest to its emotion window stored in Redis",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60] });

    /// <summary>Windows refused because their event time is older than the retention: a replay of calls that have expired.</summary>
    public static readonly Counter<long> Expired = Meter.CreateCounter<long>("streaming.timeline.expired_windows", "{window}",
        "Windows not stored because their event time is older than Redis:Retention (a replay of expired calls)");
}
