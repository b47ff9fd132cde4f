using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Streaming.Messaging.Kafka;

/// <summary>The transport's one activity source and meter; services add both names to OpenTelemetry.</summary>
public static class KafkaInstrumentation
{
    public const string Name = "Streaming.Messaging.Kafka";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Consumed = Meter.CreateCounter<long>("streaming.kafka.consumed", "{message}", "Messages processed and stored for commit");

    public static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("streaming.kafka.dead_lettered", "{message}", "Messages sent to the dead-letter topic");
}
