using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streaming.Inference;
using Streaming.Pipeline;
using Streaming.Timelines;

namespace Streaming.Standalone.Serve;

/// <summary>
/// The embedded pipeline of <c>serve</c> (featurizer → classifier → store over bounded channels, the stages <c>analyze</c>
/// runs), owned for the life of the host. Hosted services stop after the web server, so at shutdown every call's audio
/// already accepted is drained into the store before the process ends. A stage that fails stops the process: a pipeline
/// that no longer classifies must not keep accepting calls.
/// </summary>
public sealed partial class ServePipeline : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _abort = new();
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<ServePipeline> _logger;

    public ServePipeline(IEmotionModel model, ITimelineStore store, PipelineLag lag, IHostApplicationLifetime lifetime, ILogger<ServePipeline> logger)
    {
        _lifetime = lifetime;
        _logger = logger;
        // The store is the supervised one (alerts, live views, archive) registered by AddSupervision; the delay to a window
        // stored, measured around all of it, is what ingest's overload refusals read.
        Pipeline = new EmbeddedPipeline(model, new ClassifierOptions(), new LagMeasuredTimelineStore(store, lag), _abort.Token);
    }

    public EmbeddedPipeline Pipeline { get; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Pipeline.Completion.ContinueWith(failed =>
        {
            LogStageFailed(_logger, failed.Exception!.GetBaseException());
            _lifetime.StopApplication();
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    /// <summary>Ends the input and waits (up to the host's shutdown timeout) until every accepted window is stored.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Pipeline.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogDrainTimedOut(_logger);
        }
        catch (Exception) when (Pipeline.Completion.IsFaulted)
        {
            // Logged when it happened (StartAsync's continuation); shutting down is what it asked for.
        }
        await _abort.CancelAsync().ConfigureAwait(false);
    }

    public void Dispose() => _abort.Dispose();

    [LoggerMessage(Level = LogLevel.Critical, Message = "a pipeline stage failed; serve stops")]
    private static partial void LogStageFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "shutdown timeout: windows still in the pipeline were not stored")]
    private static partial void LogDrainTimedOut(ILogger logger);
}
