using Streaming.Contracts;
using Streaming.Inference;

namespace Streaming.Pipeline;

/// <summary>
/// Classifies the windows each batch of feature frames completes, across all streams in the batch,
/// so one model call serves many speakers, then publishes the voted windows in stream order.
/// </summary>
public sealed class ClassifierStage(ClassifierEngine engine, IMessageSink<EmotionWindow> sink) : IResumableStage<FeatureFrames>
{
    private readonly List<EmotionWindow> _results = [];

    public ClassifierEngine Engine => engine;

    public StreamKey StreamOf(FeatureFrames message) => message.Stream;

    public long? ResumeSequence(StreamKey stream) => engine.ResumeSequence(stream);

    public void DropCall(string callId) => engine.DropCall(callId);

    /// <summary>Ends the stream as its final message would have (<see cref="ClassifierEngine.EndStream"/>) and publishes the tail.</summary>
    public ValueTask EndStreamAsync(StreamKey stream, CancellationToken cancellationToken) =>
        engine.EndStream(stream) ? PublishAsync(cancellationToken) : ValueTask.CompletedTask;

    public async ValueTask HandleAsync(IReadOnlyList<FeatureFrames> batch, CancellationToken cancellationToken)
    {
        foreach (var frames in batch)
        {
            try
            {
                engine.Accept(frames);
            }
            catch (InvalidDataException e)
            {
                throw new MessageRejectedException(e.Message);
            }
        }

        await PublishAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask PublishAsync(CancellationToken cancellationToken)
    {
        _results.Clear();
        engine.Flush(_results);
        foreach (var window in _results) await sink.PublishAsync(window, cancellationToken).ConfigureAwait(false);
    }
}
