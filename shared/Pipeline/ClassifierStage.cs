using Streaming.Contracts;
using Streaming.Inference;

namespace Streaming.Pipeline;

/// <summary>
/// Classifies the windows each batch of feature frames completes, across all streams in the batch,
/// so one model call serves many speakers, then publishes the voted windows in stream order. Call metadata on a stream's
/// frames travels on to the next window published for that stream (frames and windows are not one to one).
/// </summary>
public sealed class ClassifierStage(ClassifierEngine engine, IMessageSink<EmotionWindow> sink) : IResumableStage<FeatureFrames>
{
    private readonly List<EmotionWindow> _results = [];
    private readonly Dictionary<StreamKey, IReadOnlyDictionary<string, string>> _metadata = [];

    public ClassifierEngine Engine => engine;

    public StreamKey StreamOf(FeatureFrames message) => message.Stream;

    public long? ResumeSequence(StreamKey stream) => engine.ResumeSequence(stream);

    public void DropCall(string callId)
    {
        engine.DropCall(callId);
        // metadata not yet passed on goes too: the call's new owner replays its frames from the committed offset
        foreach (var stream in _metadata.Keys.Where(s => s.CallId == callId).ToList()) _metadata.Remove(stream);
    }

    /// <summary>Ends the stream as its final message would have (<see cref="ClassifierEngine.EndStream"/>) and publishes the tail.</summary>
    public ValueTask EndStreamAsync(StreamKey stream, CancellationToken cancellationToken) =>
        engine.EndStream(stream) ? PublishAsync(cancellationToken) : ValueTask.CompletedTask;

    public async ValueTask HandleAsync(IReadOnlyList<FeatureFrames> batch, CancellationToken cancellationToken)
    {
        foreach (var frames in batch)
        {
            try
            {
                if (engine.Accept(frames) && frames.Metadata is { Count: > 0 } metadata) _metadata[frames.Stream] = metadata;
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
        foreach (var window in _results)
        {
            var published = _metadata.Remove(window.Stream, out var metadata) ? window with { Metadata = metadata } : window;
            await sink.PublishAsync(published, cancellationToken).ConfigureAwait(false);
        }
    }
}
