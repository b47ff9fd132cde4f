namespace Streaming.Pipeline;

/// <summary>Where a stage sends its output: a bounded channel when embedded, a Kafka topic when distributed.</summary>
public interface IMessageSink<in T>
{
    ValueTask PublishAsync(T message, CancellationToken cancellationToken);
}

/// <summary>
/// One pipeline stage. Hosts hand it batches of input in stream order and, once the call returns,
/// treat the batch as done (the Kafka host commits offsets only then, so delivery is at-least-once;
/// stages ignore a message they have already seen).
/// </summary>
public interface IStage<TInput>
{
    ValueTask HandleAsync(IReadOnlyList<TInput> batch, CancellationToken cancellationToken);
}
