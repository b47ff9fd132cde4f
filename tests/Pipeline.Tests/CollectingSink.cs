using Streaming.Contracts;

namespace Streaming.Tests.Pipeline;

internal sealed class CollectingSink<T> : IMessageSink<T>
{
    public List<T> Messages { get; } = [];

    public ValueTask PublishAsync(T message, CancellationToken cancellationToken)
    {
        Messages.Add(message);
        return ValueTask.CompletedTask;
    }
}
