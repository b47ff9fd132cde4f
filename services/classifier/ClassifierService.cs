using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;
using Streaming.ServiceDefaults;

namespace Streaming.Classifier;

/// <summary>feature-frames.v1 → <see cref="ClassifierStage"/> (ONNX model, windows, voting) → emotion-windows.v1.</summary>
public static partial class ClassifierService
{
    public const string Group = "classifier";

    public static WebApplicationBuilder AddClassifier(this WebApplicationBuilder builder)
    {
        builder.Services.AddKafka();
        builder.Services.AddOptions<EmotionModelOptions>().BindConfiguration(EmotionModelOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ClassifierOptions>().BindConfiguration(ClassifierOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // The model is loaded (and its contract checked against the featurizer's) when the host starts: a bad file stops the process naming it.
        builder.Services.TryAddSingleton<IEmotionModel>(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Streaming.Classifier.Model");
            var options = sp.GetRequiredService<IOptions<EmotionModelOptions>>().Value;
            // A relative path is tried in the working directory, then beside the service (where the build copies models/).
            if (!Path.IsPathRooted(options.Path) && !File.Exists(options.Path) && File.Exists(Path.Combine(AppContext.BaseDirectory, options.Path)))
                options.Path = Path.Combine(AppContext.BaseDirectory, options.Path);
            return EmotionModel.Load(options, FeatureConfig.Telephone8k, line => LogModel(logger, line));
        });
        builder.Services.AddStageHost(FeatureFramesCodec.Instance,
            (sp, outbox) => new ClassifierStage(new ClassifierEngine(sp.GetRequiredService<IEmotionModel>(), sp.GetRequiredService<IOptions<ClassifierOptions>>().Value),
                outbox.Sink(EmotionWindowCodec.Instance, Kafka(sp).Topic(EmotionWindow.Topic))),
            (sp, _) => new StageHostSettings(Kafka(sp).Topic(FeatureFrames.Topic), Kafka(sp).Group(Group)));
        return builder;
    }

    private static KafkaOptions Kafka(IServiceProvider services) => services.GetRequiredService<IOptions<KafkaOptions>>().Value;

    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    private static partial void LogModel(ILogger logger, string line);
}
