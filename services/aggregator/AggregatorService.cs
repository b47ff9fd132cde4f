using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Streaming.Alerts;
using Streaming.Contracts;
using Streaming.Dashboard;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;
using Streaming.ServiceDefaults;
using Streaming.Timelines;
using Streaming.Timelines.Api;
using Streaming.Timelines.Redis;

namespace Streaming.Aggregator;

/// <summary>
/// emotion-windows.v1 → <see cref="AggregatorStage"/> → Redis timelines, plus the timeline REST API. When Redis is
/// unreachable the stage's writes fail, the host retries the batch without committing offsets and /health reports it;
/// when Redis returns, the retried batch goes through and nothing is lost.
/// </summary>
public static class AggregatorService
{
    public const string Group = "aggregator";

    public static WebApplicationBuilder AddAggregator(this WebApplicationBuilder builder)
    {
        builder.Services.AddKafka();
        builder.Services.AddTimelineApi();
        builder.Services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // One multiplexer per process; AbortOnConnectFail=false lets the service start before Redis and reconnect by itself.
        builder.Services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var config = sp.GetRequiredService<IOptions<RedisOptions>>().Value.ToConfigurationOptions();
            config.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(config);
        });
        builder.Services.AddSingleton(sp =>
            new RedisTimelineStore(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        builder.Services.AddSingleton<ITimelineStore>(sp => sp.GetRequiredService<RedisTimelineStore>());
        // Alerts, the Parquet archive and the dashboard's live views, around the Redis store (docs/dashboard.md, docs/alerts.md).
        builder.Services.AddSupervision(builder.Configuration, sp => sp.GetRequiredService<IOptions<TimelineOptions>>().Value.EffectiveLabels, sp =>
        {
            var redis = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            return new RedisAlertStore(sp.GetRequiredService<IConnectionMultiplexer>(), redis.KeyPrefix, redis.Retention);
        });
        // Live views hear of every call through Redis, whichever aggregator instance stored it.
        builder.Services.AddHostedService(sp => new RedisLiveFeed(sp.GetRequiredService<IConnectionMultiplexer>(),
            [sp.GetRequiredService<RedisTimelineStore>().UpdatesChannel, ((RedisAlertStore)sp.GetRequiredService<IAlertStore>()).Channel],
            sp.GetRequiredService<LiveUpdates>()));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");
        // The delay from audio accepted to its window stored, reported for ingest's overload refusals (docs/distributed.md).
        builder.Services.AddSingleton<PipelineLag>();
        builder.Services.AddSingleton(sp => new PipelineLagReports(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix));
        builder.Services.AddHostedService<PipelineLagPublisher>();
        builder.Services.AddStageHost(EmotionWindowCodec.Instance,
            (sp, _) => new AggregatorStage(new LagMeasuredTimelineStore(sp.GetRequiredService<ITimelineStore>(), sp.GetRequiredService<PipelineLag>()),
                sp.GetRequiredService<ILogger<AggregatorStage>>()),
            (sp, _) =>
            {
                var kafka = sp.GetRequiredService<IOptions<KafkaOptions>>().Value;
                return new StageHostSettings(kafka.Topic(EmotionWindow.Topic), kafka.Group(Group));
            });
        return builder;
    }
}

internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis unreachable: {e.Message}");
        }
    }
}
