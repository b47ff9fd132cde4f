using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;

namespace Streaming.ServiceDefaults;

/// <summary>
/// Creates the pipeline's topics at start-up on modern brokers (idempotent: existing topics are left alone).
/// A 0.9 broker has no CreateTopics API: there scripts/servers.sh creates them (or the broker auto-creates).
/// </summary>
internal sealed partial class KafkaTopicsInitializer(IOptions<KafkaOptions> options, ILogger<KafkaTopicsInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var kafka = options.Value;
        string[] topics = [kafka.Topic(AudioChunk.Topic), kafka.Topic(FeatureFrames.Topic), kafka.Topic(EmotionWindow.Topic), kafka.Topic(kafka.DeadLetterTopic)];
        if (await KafkaTopics.EnsureAsync(kafka, topics, cancellationToken).ConfigureAwait(false)) LogCreated(logger, string.Join(", ", topics));
        else LogSkipped(logger);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "topics ensured: {Topics}")]
    private static partial void LogCreated(ILogger logger, string topics);

    [LoggerMessage(Level = LogLevel.Information, Message = "topics not created at start-up (0.9 broker or Kafka:CreateTopics=false): scripts/servers.sh or the broker creates them")]
    private static partial void LogSkipped(ILogger logger);
}

/// <summary>The Kafka link as the producer sees it: unhealthy when no broker connection is up.</summary>
internal sealed class KafkaPublisherHealthCheck(KafkaPublisher publisher) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(publisher.BrokersUp ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("no connection to any Kafka broker"));
}
