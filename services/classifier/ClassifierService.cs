using System.ComponentModel.DataAnnotations;
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
        builder.Services.AddOptions<ClassifierStreamOptions>().BindConfiguration(ClassifierStreamOptions.Section).ValidateDataAnnotations().ValidateOnStart();
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
            (sp, _) => new StageHostSettings(Kafka(sp).Topic(FeatureFrames.Topic), Kafka(sp).Group(Group),
                sp.GetRequiredService<IOptions<ClassifierStreamOptions>>().Value.IdleStreamTimeout));
        return builder;
    }

    private static KafkaOptions Kafka(IServiceProvider services) => services.GetRequiredService<IOptions<KafkaOptions>>().Value;

    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    private static partial void LogModel(ILogger logger, string line);
}

/// <summary>
/// The classifier service's own settings, in the section of <see cref="ClassifierOptions"/> ("Classifier"); those apply to the embedded
/// pipeline too, this one only to the service.
/// </summary>
public sealed class ClassifierStreamOptions
{
    public const string Section = ClassifierOptions.Section;

    /// <summary>
    /// A stream of which no frames arrived for this long is ended as if its final message had come (its tail window, marked final;
    /// docs/reliability.md, "Streams that never end"). A backstop, far longer than the featurizer's 2 minutes (which normally ends
    /// such a stream first, and the classifier with it): an outage of every featurizer instance longer than this ends the live
    /// calls here, so it must exceed any featurizer outage the deployment rides through.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan IdleStreamTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
