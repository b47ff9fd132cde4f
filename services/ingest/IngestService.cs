using System.Diagnostics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Streaming.Contracts;
using Streaming.Ingest.Sessions;
using Streaming.Messaging.Kafka;
using Streaming.ServiceDefaults;
using Streaming.Timelines.Redis;

namespace Streaming.Ingest;

/// <summary>
/// The ingest service: the shared ingest endpoints (Streaming.Ingest.Sessions), publishing audio chunks to Kafka. With
/// <c>Redis:Configuration</c> set (the distributed deployment, several instances) call ids are claimed in Redis, so they
/// are unique per tenant across instances and a call handed over by one instance resumes on another; without it, in
/// memory (one instance). With Redis, ingest also reads the aggregators' reports of the pipeline's delay and refuses new calls
/// while it is too far behind (<see cref="PipelineAdmission"/>); without it, only the configured limits refuse calls.
/// </summary>
public static class IngestService
{
    public static WebApplicationBuilder AddIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddKafka();
        builder.Services.AddSingleton<IAudioSinkFactory, KafkaAudioSinkFactory>();
        var redis = builder.Configuration.GetSection(RedisOptions.Section).Get<RedisOptions>();
        if (!string.IsNullOrEmpty(redis?.Configuration))
        {
            builder.Services.AddSingleton<IConnectionMultiplexer>(_ =>
            {
                var options = redis.ToConfigurationOptions();
                options.AbortOnConnectFail = false; // ingest may start before Redis; claims fail (1013) until it is up
                return ConnectionMultiplexer.Connect(options);
            });
            builder.Services.AddSingleton<ICallClaims>(sp => new RedisCallClaims(sp.GetRequiredService<IConnectionMultiplexer>(), redis.KeyPrefix));
            // The aggregators' reports of the pipeline's delay: new calls are refused while it is too far behind.
            builder.Services.AddSingleton<IPipelineLagSource>(sp => new RedisPipelineLag(new PipelineLagReports(sp.GetRequiredService<IConnectionMultiplexer>(), redis.KeyPrefix)));
        }
        builder.Services.AddIngestSessions();
        return builder;
    }
}

/// <summary>The pipeline's delay as the aggregators last reported it to Redis.</summary>
internal sealed class RedisPipelineLag(PipelineLagReports reports) : IPipelineLagSource
{
    public async ValueTask<TimeSpan?> ReadAsync(CancellationToken cancellationToken) =>
        await reports.ReadAsync(DateTimeOffset.UtcNow).WaitAsync(cancellationToken).ConfigureAwait(false);
}

/// <summary>One Kafka sink per call, tracking deliveries, so a stop confirms exactly that call's audio.</summary>
internal sealed partial class KafkaAudioSinkFactory(KafkaPublisher publisher, IOptions<KafkaOptions> kafka, ILogger<KafkaAudioSinkFactory> logger) : IAudioSinkFactory
{
    public ICallAudioSink Open() => new Sink(new KafkaMessageSink<AudioChunk>(publisher, AudioChunkCodec.Instance, kafka.Value.Topic(AudioChunk.Topic), trackDeliveries: true,
        (chunk, error) => LogDeliveryFailed(logger, chunk.Stream.Tenant, chunk.Stream.CallId, chunk.Stream.Speaker, chunk.Sequence, error.Message)));

    [LoggerMessage(Level = LogLevel.Error, Message = "tenant {Tenant} call {CallId} {Speaker}: chunk {Sequence} was not delivered: {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string tenant, string callId, string speaker, long sequence, string reason);

    private sealed class Sink(KafkaMessageSink<AudioChunk> sink) : ICallAudioSink
    {
        /// <summary>
        /// Each chunk starts its own trace (its journey through the stages to the stored window), linked to the call's request
        /// span: parented on the request, a call of an hour would be one trace of tens of thousands of spans.
        /// </summary>
        public ValueTask PublishAsync(AudioChunk message, CancellationToken cancellationToken)
        {
            var call = Activity.Current;
            Activity.Current = null; // a root span, not a child of the request
            try
            {
                using var chunk = KafkaInstrumentation.Source.StartActivity($"publish {sink.Topic}", ActivityKind.Producer, default(ActivityContext),
                    links: call is null ? null : [new ActivityLink(call.Context)]);
                return sink.PublishAsync(message, cancellationToken); // the envelope takes the chunk's span before the first await
            }
            finally
            {
                Activity.Current = call;
            }
        }

        public Task DeliveredAsync(CancellationToken cancellationToken) => sink.DeliveredAsync(cancellationToken);
    }
}
