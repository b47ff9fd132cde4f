using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;
using Streaming.ServiceDefaults;

namespace Streaming.Featurizer;

/// <summary>audio-chunks.v1 → <see cref="FeaturizerStage"/> → feature-frames.v1, partitioned by call across instances.</summary>
public static partial class FeaturizerService
{
    /// <summary>The consumer group: every featurizer instance shares it, so Kafka spreads the calls over them.</summary>
    public const string Group = "featurizer";

    public static WebApplicationBuilder AddFeaturizer(this WebApplicationBuilder builder)
    {
        builder.Services.AddKafka();
        builder.Services.AddOptions<ModelFileOptions>().BindConfiguration(ModelFileOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<FeaturizerOptions>().BindConfiguration(FeaturizerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // The features come from the model's own contract, as in the embedded pipeline, so the two modes cannot compute
        // different features; a missing or foreign model file stops the process at start naming it.
        builder.Services.AddSingleton(sp =>
        {
            var contract = ModelContract.FromFile(sp.GetRequiredService<IOptions<ModelFileOptions>>().Value.ResolvedPath);
            LogFeatures(sp.GetRequiredService<ILoggerFactory>().CreateLogger("Streaming.Featurizer.Model"), contract.Name, contract.Version,
                contract.Features.ToString(), contract.Prosody ? " and prosody" : "");
            return contract;
        });
        builder.Services.AddSingleton(sp => sp.GetRequiredService<ModelContract>().Features);
        builder.Services.AddStageHost(AudioChunkCodec.Instance,
            (sp, outbox) => new FeaturizerStage(sp.GetRequiredService<FeatureConfig>(), outbox.Sink(FeatureFramesCodec.Instance, Kafka(sp).Topic(FeatureFrames.Topic)),
                sp.GetRequiredService<ModelContract>().Prosody),
            (sp, _) => new StageHostSettings(Kafka(sp).Topic(AudioChunk.Topic), Kafka(sp).Group(Group),
                sp.GetRequiredService<IOptions<FeaturizerOptions>>().Value.IdleStreamTimeout));
        return builder;
    }

    private static KafkaOptions Kafka(IServiceProvider services) => services.GetRequiredService<IOptions<KafkaOptions>>().Value;

    [LoggerMessage(Level = LogLevel.Information, Message = "features of model {Name} {Version}: {Features}{AndProsody}")]
    private static partial void LogFeatures(ILogger logger, string name, string version, string features, string andProsody);
}

/// <summary>Featurizer service settings (configuration section "Featurizer").</summary>
public sealed class FeaturizerOptions
{
    public const string Section = "Featurizer";

    /// <summary>
    /// A stream of which no chunk arrived for this long is ended as if its final chunk had come (docs/reliability.md, "Streams
    /// that never end"). Live audio sends a chunk every 200 ms, silence included, and ingest itself ends a stalled call within
    /// about 35 s (its idle timeout, then its resume window): 2 minutes is only reached when ingest died with the call.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan IdleStreamTimeout { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>The model whose contract decides the features: the classifier's setting "Model:Path", so one value serves both.</summary>
public sealed class ModelFileOptions
{
    public const string Section = "Model";

    [Required]
    public string Path { get; set; } = "models/emotion-cnn-bilstm.onnx";

    /// <summary>A relative path is tried in the working directory, then beside the service (where the build copies models/).</summary>
    public string ResolvedPath =>
        System.IO.Path.IsPathRooted(Path) || File.Exists(Path) || !File.Exists(System.IO.Path.Combine(AppContext.BaseDirectory, Path))
            ? Path
            : System.IO.Path.Combine(AppContext.BaseDirectory, Path);
}
