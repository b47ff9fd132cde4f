using System.Diagnostics.Metrics;

namespace Streaming.Inference;

/// <summary>The model's cost as metrics: time per window and windows per model call (the classifier's batching).</summary>
public static class InferenceInstrumentation
{
    public const string Name = "Streaming.Inference";

    private static readonly Meter Meter = new(Name);

    public static readonly Histogram<double> DurationPerWindow = Meter.CreateHistogram("streaming.classifier.inference_duration", "s",
        "Model time per window (a model call's duration divided by its windows)",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25] });

    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram("streaming.classifier.batch_size", "{window}",
        "Windows per model call",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
}
