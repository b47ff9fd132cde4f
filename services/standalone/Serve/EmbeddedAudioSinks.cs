using Streaming.Contracts;
using Streaming.Ingest.Sessions;
using Streaming.Pipeline;

namespace Streaming.Standalone.Serve;

/// <summary>
/// The ingest sessions' audio goes straight into the embedded pipeline's bounded input channel: a full channel makes the
/// session's receive loop wait, which is the back-pressure a slow classifier puts on the platform's socket.
/// </summary>
internal sealed class EmbeddedAudioSinkFactory(ServePipeline pipeline) : IAudioSinkFactory
{
    public ICallAudioSink Open() => new Sink(pipeline.Pipeline.Audio);

    private sealed class Sink(IMessageSink<AudioChunk> audio) : ICallAudioSink
    {
        public ValueTask PublishAsync(AudioChunk message, CancellationToken cancellationToken) => audio.PublishAsync(message, cancellationToken);

        /// <summary>A chunk written into the channel is delivered: the process that holds it is the one that stores it.</summary>
        public Task DeliveredAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
