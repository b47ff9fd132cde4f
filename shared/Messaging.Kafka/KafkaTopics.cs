using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Streaming.Messaging.Kafka;

/// <summary>Creates topics at start-up on modern brokers. 0.9 has no CreateTopics API: there scripts/servers.sh creates them.</summary>
public static class KafkaTopics
{
    /// <returns>false when the broker is 0.9 and nothing was attempted</returns>
    public static async Task<bool> EnsureAsync(KafkaOptions options, IEnumerable<string> topics, CancellationToken cancellationToken)
    {
        if (options.LegacyBroker09 || !options.CreateTopics) return false;
        var config = new AdminClientConfig { BootstrapServers = options.BootstrapServers, ClientId = options.ClientId };
        options.ApplySecurity(config);
        using var admin = new AdminClientBuilder(config).SetLogHandler(KafkaLog.Write).Build();
        var specs = topics.Distinct().Select(t => new TopicSpecification { Name = t, NumPartitions = options.Partitions, ReplicationFactor = -1 }).ToList();
        try
        {
            await admin.CreateTopicsAsync(specs).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            // already there: the usual case after the first start
        }
        return true;
    }
}
