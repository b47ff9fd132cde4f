using System.Diagnostics;
using Confluent.Kafka;

namespace Streaming.Messaging.Kafka;

/// <summary>
/// Refuses to go on when the input topic's partition count changes under a running pipeline. Order is kept per key
/// (call id) only while a key maps to one partition: with more partitions the producer sends a live call's next
/// messages to another partition, possibly read by another instance before the earlier ones, and the stages (which
/// skip sequences they have seen and hold each stream's state on one instance) would lose or corrupt windows.
/// Checked every <see cref="Interval"/> against the broker's metadata; a change faults the host with the reason
/// (the service stops and /health says why). Different counts on different topics are harmless: each topic keeps
/// its own per-key order.
/// </summary>
internal sealed class PartitionCountCheck
{
    /// <summary>Often enough to stop within seconds of a change; one small metadata request each time.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly IAdminClient _metadata;
    private readonly string _topic;
    private int _count = -1;
    private long _next;

    public PartitionCountCheck(IAdminClient metadata, string topic)
    {
        _metadata = metadata;
        _topic = topic;
    }

    /// <exception cref="InvalidOperationException">the topic now has another number of partitions than when first seen</exception>
    public void ThrowIfChanged()
    {
        var now = Stopwatch.GetTimestamp();
        if (now < _next) return;
        _next = now + (long)(Interval.TotalSeconds * Stopwatch.Frequency);
        int count;
        try
        {
            count = _metadata.GetMetadata(_topic, TimeSpan.FromSeconds(5)).Topics.SingleOrDefault(t => t.Topic == _topic && !t.Error.IsError)?.Partitions.Count ?? 0;
        }
        catch (KafkaException)
        {
            return; // broker unreachable: the consume loop reports that; checked again later
        }
        if (count == 0) return;
        if (_count < 0) _count = count;
        else if (count != _count)
            throw new InvalidOperationException($"topic {_topic} went from {_count} to {count} partitions while running: live calls' messages " +
                "would be split over partitions and reordered. Stop ingest, let the pipeline drain, then restart the services.");
    }
}
