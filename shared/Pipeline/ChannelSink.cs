using System.Threading.Channels;
using Streaming.Contracts;

namespace Streaming.Pipeline;

/// <summary>Publishes into a bounded channel: a full channel makes the producer wait (back-pressure).</summary>
public sealed class ChannelSink<T>(ChannelWriter<T> writer) : IMessageSink<T>
{
    public ValueTask PublishAsync(T message, CancellationToken cancellationToken) => writer.WriteAsync(message, cancellationToken);
}
