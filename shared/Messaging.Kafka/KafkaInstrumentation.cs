using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Streaming.Messaging.Kafka;

/// <summary>
/// The transport's one activity source and meter; services add both names to OpenTelemetry. Tags are topics,
/// partitions and consumer groups (bounded sets), never call ids.
/// </summary>
public static class KafkaInstrumentation
{
    public const string Name = "Streaming.Messaging.Kafka";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Latest lag per consumer instance (librdkafka's client name), replaced by each statistics report.</summary>
    private static readonly ConcurrentDictionary<string, KafkaStatistics.PartitionLag[]> Lags = new();

    public static readonly Counter<long> Consumed = Meter.CreateCounter<long>("streaming.kafka.consumed", "{message}", "Messages processed and stored for commit");

    public static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("streaming.kafka.dead_lettered", "{message}", "Messages sent to the dead-letter topic, by source topic");

    public static readonly Counter<long> BatchFailures = Meter.CreateCounter<long>("streaming.kafka.batch_failures", "{batch}", "Batch attempts that failed for a reason other than the message (retried)");

    static KafkaInstrumentation()
    {
        Meter.CreateObservableGauge("streaming.kafka.consumer_lag", ObserveLag, "{message}",
            "Messages between the consumer's position and the partition's end, per group, topic and partition (librdkafka statistics, every 5 s)");
    }

    /// <summary>Zero-valued series for a consumer's topic, so rates and alerts work before the first message or failure.</summary>
    public static void Register(string topic)
    {
        var tag = new KeyValuePair<string, object?>("topic", topic);
        Consumed.Add(0, tag);
        DeadLettered.Add(0, tag);
        BatchFailures.Add(0, tag);
    }

    public static void ReportLag(string clientName, KafkaStatistics.PartitionLag[] lags) => Lags[clientName] = lags;

    public static void ForgetLag(string clientName) => Lags.TryRemove(clientName, out _);

    private static IEnumerable<Measurement<long>> ObserveLag()
    {
        foreach (var lags in Lags.Values)
        foreach (var lag in lags)
            yield return new Measurement<long>(lag.Lag, new("group", lag.Group), new("topic", lag.Topic), new("partition", lag.Partition));
    }
}
