using System.Text.Json;

namespace Streaming.Messaging.Kafka;

/// <summary>Reads librdkafka's statistics JSON (statistics.interval.ms).</summary>
public static class KafkaStatistics
{
    public readonly record struct PartitionLag(string Group, string Topic, int Partition, long Lag);

    /// <summary>librdkafka's statistics list every broker connection with its state; none "UP" means the Kafka link is dead.</summary>
    public static bool AnyBrokerUp(string statistics)
    {
        using var json = JsonDocument.Parse(statistics);
        if (!json.RootElement.TryGetProperty("brokers", out var brokers)) return false;
        foreach (var broker in brokers.EnumerateObject())
        {
            if (broker.Value.TryGetProperty("state", out var state) && state.GetString() == "UP") return true;
        }
        return false;
    }

    /// <summary>
    /// Whether a consumer's group handler is "up" (its coordinator known and connected: cgrp.state); true for a client without a
    /// group. Any other state (query-coord, wait-coord, ...) means the group's offsets and assignment are out of reach.
    /// </summary>
    public static bool GroupCoordinatorUp(string statistics)
    {
        using var json = JsonDocument.Parse(statistics);
        return !json.RootElement.TryGetProperty("cgrp", out var group) || !group.TryGetProperty("state", out var state) || state.GetString() == "up";
    }

    /// <summary>
    /// The consumer's client name and its lag per assigned partition: topics.T.partitions.P.consumer_lag (high watermark
    /// minus the committed offset, -1 while unknown). Partition -1 (librdkafka's internal one) and unknown lags are left out.
    /// </summary>
    public static (string ClientName, PartitionLag[] Lags) ConsumerLag(string statistics, string group)
    {
        using var json = JsonDocument.Parse(statistics);
        var root = json.RootElement;
        var name = root.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
        var lags = new List<PartitionLag>();
        if (root.TryGetProperty("topics", out var topics))
        {
            foreach (var topic in topics.EnumerateObject())
            {
                if (!topic.Value.TryGetProperty("partitions", out var partitions)) continue;
                foreach (var partition in partitions.EnumerateObject())
                {
                    if (!int.TryParse(partition.Name, out var id) || id < 0) continue;
                    if (partition.Value.TryGetProperty("consumer_lag", out var lag) && lag.GetInt64() >= 0)
                        lags.Add(new PartitionLag(group, topic.Name, id, lag.GetInt64()));
                }
            }
        }
        return (name, [.. lags]);
    }
}
