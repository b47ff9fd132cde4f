using Confluent.Kafka;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>Reads what a stage published, as a store would keep it: the first copy of each message.</summary>
internal static class TopicReader
{
    /// <summary>
    /// Reads <paramref name="topic"/> from the start with a group of its own, keeping the first copy of each message by
    /// <paramref name="id"/>, until <paramref name="enough"/> holds and one more quiet second passed (so that a missing or an
    /// extra message is seen), or 180 s.
    /// </summary>
    public static Dictionary<TId, T> Read<T, TId>(KafkaOptions options, string topic, IMessageCodec<T> codec, Func<T, TId> id,
        Func<IReadOnlyDictionary<TId, T>, bool> enough) where TId : notnull
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(options.ConsumerConfig(TestServers.Unique("reader"))).SetLogHandler(KafkaLog.Write).Build();
        consumer.Subscribe(topic);
        var messages = new Dictionary<TId, T>();
        var deadline = DateTime.UtcNow.AddSeconds(180);
        var quietUntil = DateTime.MaxValue;
        while (DateTime.UtcNow < deadline && DateTime.UtcNow < quietUntil)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                var message = codec.Decode(result.Message.Value, out _);
                messages.TryAdd(id(message), message);
            }
            if (quietUntil == DateTime.MaxValue && enough(messages)) quietUntil = DateTime.UtcNow.AddSeconds(1);
        }
        consumer.Close();
        return messages;
    }
}
