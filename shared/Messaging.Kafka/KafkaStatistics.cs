using System.Text.Json;

namespace Streaming.Messaging.Kafka;

internal static class KafkaStatistics
{
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
}
