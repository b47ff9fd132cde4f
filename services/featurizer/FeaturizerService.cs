using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;
using Streaming.ServiceDefaults;

namespace Streaming.Featurizer;

/// <summary>audio-chunks.v1 → <see cref="FeaturizerStage"/> → feature-frames.v1, partitioned by call across instances.</summary>
public static class FeaturizerService
{
    /// <summary>The consumer group: every featurizer instance shares it, so Kafka spreads the calls over them.</summary>
    public const string Group = "featurizer";

    public static WebApplicationBuilder AddFeaturizer(this WebApplicationBuilder builder)
    {
        builder.Services.AddKafka();
        builder.Services.AddStageHost(AudioChunkCodec.Instance,
            (sp, outbox) => new FeaturizerStage(FeatureConfig.Telephone8k, outbox.Sink(FeatureFramesCodec.Instance, Kafka(sp).Topic(FeatureFrames.Topic))),
            (sp, _) => new StageHostSettings(Kafka(sp).Topic(AudioChunk.Topic), Kafka(sp).Group(Group)));
        return builder;
    }

    private static KafkaOptions Kafka(IServiceProvider services) => services.GetRequiredService<IOptions<KafkaOptions>>().Value;
}
