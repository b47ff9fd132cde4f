namespace Streaming.Contracts;

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

/// <summary>
/// A stage whose per-stream state spans several messages (the featurizer's frame overlap, the classifier's window and
/// votes). It says, per stream, from which message a fresh instance would rebuild that state exactly, so the Kafka host
/// can commit per partition the oldest position a live stream still needs: whoever takes the partition over re-reads
/// from there and produces, from the takeover point on, what this instance would have (docs/distributed.md).
/// </summary>
public interface IResumableStage<TInput> : IStage<TInput>
{
    StreamKey StreamOf(TInput message);

    /// <summary>
    /// The sequence of the oldest message of <paramref name="stream"/> that an instance without its state must be handed
    /// (with every later one) to continue it exactly; null when no state of the stream is held (ended, never seen, dropped).
    /// Asked between batches.
    /// </summary>
    long? ResumeSequence(StreamKey stream);

    /// <summary>Forgets a call's streams: this instance no longer owns its partition.</summary>
    void DropCall(string callId);

    /// <summary>
    /// Ends a stream whose final message never came (its source died: the host saw nothing of it for the stage's idle timeout
    /// while reading its partition up to date): publishes what the stream's end would have produced, from the state held, and
    /// forgets it, so <see cref="ResumeSequence"/> is null from then on. Does nothing for a stream it holds no state of.
    /// </summary>
    ValueTask EndStreamAsync(StreamKey stream, CancellationToken cancellationToken);
}
