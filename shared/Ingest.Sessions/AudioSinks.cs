using Streaming.Contracts;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// Where the sessions' audio goes: Kafka in the ingest service, the embedded pipeline's channel in <c>serve</c>.
/// The host registers one as a singleton.
/// </summary>
public interface IAudioSinkFactory
{
    /// <summary>A sink for one call (so <see cref="ICallAudioSink.DeliveredAsync"/> confirms exactly that call's audio).</summary>
    ICallAudioSink Open();
}

/// <summary>One call's audio chunks on their way downstream.</summary>
public interface ICallAudioSink : IMessageSink<AudioChunk>
{
    /// <summary>Completes when every chunk published so far is durable downstream (acknowledged by Kafka, or in the channel).</summary>
    Task DeliveredAsync(CancellationToken cancellationToken);
}
