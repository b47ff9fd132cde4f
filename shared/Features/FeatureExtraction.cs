namespace Streaming.Features;

/// <summary>Whole-signal features (training, tests): the streaming extractor fed the signal in one chunk.</summary>
public static class FeatureExtraction
{
    /// <summary>Log-mel frames of <paramref name="signal"/>, row-major [frames, MelBands].</summary>
    public static float[] LogMel(ReadOnlySpan<float> signal, FeatureConfig config, out int frames)
    {
        var extractor = new LogMelExtractor(config);
        var output = new float[extractor.MaxFrames(signal.Length) * config.MelBands];
        frames = extractor.Process(signal, output);
        return output;
    }

    /// <summary>MFCC frames of <paramref name="signal"/>, row-major [frames, MfccCount].</summary>
    public static float[] Mfcc(ReadOnlySpan<float> signal, FeatureConfig config, out int frames)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.MfccCount <= 0)
            throw new ArgumentException("feature configuration: MfccCount must be positive to compute MFCC", nameof(config));
        var logMel = LogMel(signal, config, out frames);
        var mfcc = new float[frames * config.MfccCount];
        new MfccTransform(config.MelBands, config.MfccCount).Transform(logMel, mfcc);
        return mfcc;
    }
}
