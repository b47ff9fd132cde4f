using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Ingest.Sessions;
using Streaming.Messaging.Kafka;
using Streaming.ServiceDefaults;

namespace Streaming.Ingest;

/// <summary>The ingest service: the shared ingest endpoints (Streaming.Ingest.Sessions), publishing audio chunks to Kafka.</summary>
public static class IngestService
{
    public static WebApplicationBuilder AddIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddKafka();
        builder.Services.AddSingleton<IAudioSinkFactory, KafkaAudioSinkFactory>();
        builder.Services.AddIngestSessions();
        return builder;
    }
}

/// <summary>One Kafka sink per call, tracking deliveries, so a stop confirms exactly that call's audio.</summary>
internal sealed class KafkaAudioSinkFactory(KafkaPublisher publisher, IOptions<KafkaOptions> kafka) : IAudioSinkFactory
{
    public ICallAudioSink Open() => new Sink(new KafkaMessageSink<AudioChunk>(publisher, AudioChunkCodec.Instance, kafka.Value.Topic(AudioChunk.Topic), trackDeliveries: true));

    private sealed class Sink(KafkaMessageSink<AudioChunk> sink) : ICallAudioSink
    {
        public ValueTask PublishAsync(AudioChunk message, CancellationToken cancellationToken) => sink.PublishAsync(message, cancellationToken);

        public Task DeliveredAsync(CancellationToken cancellationToken) => sink.LastDelivery.WaitAsync(cancellationToken);
    }
}
