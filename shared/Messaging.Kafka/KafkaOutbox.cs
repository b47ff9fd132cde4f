using Confluent.Kafka;
using Streaming.Contracts;

namespace Streaming.Messaging.Kafka;

/// <summary>
/// What a <see cref="KafkaStageHost{T}"/>'s batch publishes (the stage's outputs and the batch's dead letters), held
/// until the broker acknowledged all of it. A stage moves its per-stream state when it computes an output, so a batch
/// whose outputs fail to deliver cannot be recomputed by handing it to the stage again (the stage would skip every
/// message as seen): the host sends the same messages again instead, all of them in order, until every one is
/// acknowledged. Redelivered copies are harmless downstream (sequence checks, first-write-wins store).
/// Holds one batch; used by the host's consume thread only.
/// </summary>
public sealed class KafkaOutbox(KafkaPublisher publisher)
{
    private readonly List<(string Topic, Message<byte[], byte[]> Message)> _messages = [];

    /// <summary>Messages held for the batch in hand.</summary>
    public int Count => _messages.Count;

    /// <summary>A stage's output topic, written into this outbox.</summary>
    public IMessageSink<T> Sink<T>(IMessageCodec<T> codec, string topic) => new OutboxSink<T>(this, codec, topic);

    public void Add<T>(IMessageCodec<T> codec, string topic, T message) => _messages.Add((topic, publisher.Build(codec, message)));

    /// <summary>Hands every held message to the producer (again, after a failed attempt); the caller drains the publisher.</summary>
    internal async Task ProduceAllAsync(CancellationToken cancellationToken)
    {
        foreach (var (topic, message) in _messages) await publisher.ProduceAsync(topic, message, null, cancellationToken).ConfigureAwait(false);
    }

    internal void Clear() => _messages.Clear();

    private sealed class OutboxSink<T>(KafkaOutbox outbox, IMessageCodec<T> codec, string topic) : IMessageSink<T>
    {
        public ValueTask PublishAsync(T message, CancellationToken cancellationToken)
        {
            outbox.Add(codec, topic, message);
            return ValueTask.CompletedTask;
        }
    }
}
