using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;

namespace Streaming.ServiceDefaults;

/// <summary>
/// Hosts one pipeline stage on its input topic for the life of the process. A consumer loop that dies stops
/// the application (the orchestrator restarts it); a loop stuck retrying (e.g. Redis down) reports unhealthy.
/// </summary>
public sealed class StageHostedService<T>(KafkaStageHost<T> host, IHostApplicationLifetime lifetime, ILogger<StageHostedService<T>> logger) : BackgroundService, IHealthCheck
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await host.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogCritical(e, "stage host failed; stopping the service");
            lifetime.StopApplication();
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(host.Status.IsHealthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(host.Status.Problem));

    public override void Dispose()
    {
        host.Dispose();
        base.Dispose();
    }
}

public static class StageHostExtensions
{
    /// <summary>
    /// Runs the stage built by <paramref name="stage"/> on <paramref name="settings"/>' topic with at-least-once delivery,
    /// counts its active streams and calls (<see cref="ActiveStreams"/>), and adds its health check ("consumer") to /health.
    /// </summary>
    public static IServiceCollection AddStageHost<T>(this IServiceCollection services, IMessageCodec<T> codec,
        Func<IServiceProvider, KafkaOutbox, IStage<T>> stage, Func<IServiceProvider, IStage<T>, StageHostSettings> settings) where T : IStreamMessage
    {
        services.AddSingleton(sp =>
        {
            var publisher = sp.GetRequiredService<KafkaPublisher>();
            var outbox = new KafkaOutbox(publisher);
            var instance = stage(sp, outbox);
            // The gauges' stage tag: FeaturizerStage → featurizer.
            var active = new ActiveStreams(instance.GetType().Name.Replace("Stage", "", StringComparison.Ordinal).ToLowerInvariant());
            return new KafkaStageHost<T>(sp.GetRequiredService<IOptions<KafkaOptions>>().Value,
                settings(sp, instance), codec, CountingStage<T>.Wrap(instance, active),
                publisher, sp.GetRequiredService<ILoggerFactory>().CreateLogger($"Streaming.Stage.{typeof(T).Name}"), outbox);
        });
        services.AddSingleton<StageHostedService<T>>();
        services.AddHostedService(sp => sp.GetRequiredService<StageHostedService<T>>());
        services.AddHealthChecks().Add(new HealthCheckRegistration("consumer", sp => sp.GetRequiredService<StageHostedService<T>>(), HealthStatus.Unhealthy, []));
        return services;
    }
}
