using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Timelines;

namespace Streaming.Pipeline;

/// <summary>
/// All four stages in one process: ingest writes into <see cref="Audio"/>, and the featurizer, classifier
/// and aggregator each run on their own task, connected by bounded channels. These are the same stage
/// classes the distributed services host over Kafka.
/// </summary>
public sealed class EmbeddedPipeline
{
    /// <summary>
    /// Messages held between two stages. At 200 ms chunks, 256 is about a minute of one stream's audio:
    /// deep enough to keep every stage busy, small enough that a slow stage pushes back on ingest quickly.
    /// </summary>
    public const int ChannelCapacity = 256;

    private static readonly BoundedChannelOptions Bounded = new(ChannelCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    };

    private readonly Channel<AudioChunk> _audio = Channel.CreateBounded<AudioChunk>(Bounded);
    private readonly Task _completion;
    private Exception? _failure;

    public EmbeddedPipeline(IEmotionModel model, ClassifierOptions classifierOptions, ITimelineStore store, CancellationToken cancellationToken)
    {
        var frames = Channel.CreateBounded<FeatureFrames>(Bounded);
        var windows = Channel.CreateBounded<EmotionWindow>(Bounded);

        var featurizer = new FeaturizerStage(model.Contract.Features, new ChannelSink<FeatureFrames>(frames.Writer), model.Contract.Prosody);
        Classifier = new ClassifierStage(new ClassifierEngine(model, classifierOptions), new ChannelSink<EmotionWindow>(windows.Writer));
        var aggregator = new AggregatorStage(store);

        // A failing stage completes every channel with its error: writers upstream of it would otherwise wait forever on
        // a full channel nobody reads (ingest blocked, analyze hung); now they fail with ChannelClosedException(error).
        void Fail(Exception? error)
        {
            if (error is null) return;
            Interlocked.CompareExchange(ref _failure, error, null);
            _audio.Writer.TryComplete(error);
            frames.Writer.TryComplete(error);
            windows.Writer.TryComplete(error);
        }

        _completion = Task.WhenAll(
            Task.Run(() => StageRunner.RunAsync(_audio.Reader, featurizer, 64, e => { Fail(e); frames.Writer.TryComplete(); }, cancellationToken), cancellationToken),
            // The classifier takes larger batches: more ready windows per model call.
            Task.Run(() => StageRunner.RunAsync(frames.Reader, Classifier, classifierOptions.MaxBatch * 4, e => { Fail(e); windows.Writer.TryComplete(); }, cancellationToken), cancellationToken),
            Task.Run(() => StageRunner.RunAsync(windows.Reader, aggregator, 256, Fail, cancellationToken), cancellationToken));
    }

    /// <summary>Where ingest publishes audio chunks.</summary>
    public IMessageSink<AudioChunk> Audio => new ChannelSink<AudioChunk>(_audio.Writer);

    public ClassifierStage Classifier { get; }

    /// <summary>Completes when every stage has ended: after <see cref="CompleteAsync"/>, or early and faulted when a stage fails.</summary>
    public Task Completion => _completion;

    /// <summary>
    /// Ends the input and waits until every window has reached the store; rethrows a stage's failure (the first one:
    /// the stages downstream of a failed one fail with the same error).
    /// </summary>
    /// <param name="cancellationToken">Stops the wait only; the stages stop with the token given at construction.</param>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        _audio.Writer.TryComplete();
        try
        {
            await _completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (Volatile.Read(ref _failure) is { } failure && !cancellationToken.IsCancellationRequested)
        {
            // Stages downstream of the failed one report ChannelClosedException; the caller wants the cause.
            ExceptionDispatchInfo.Throw(failure);
        }
    }
}
