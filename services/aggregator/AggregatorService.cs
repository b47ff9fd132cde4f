using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Streaming.Contracts;
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
            var config = ConfigurationOptions.Parse(sp.GetRequiredService<IOptions<RedisOptions>>().Value.Configuration);
            config.AbortOnConnectFail = false;
            return ConnectionMultiplexer.Connect(config);
        });
        builder.Services.AddSingleton<ITimelineStore>(sp =>
            new RedisTimelineStore(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");
        builder.Services.AddStageHost(EmotionWindowCodec.Instance,
            sp => new AggregatorStage(sp.GetRequiredService<ITimelineStore>()),
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
