using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;

namespace Streaming.Tests.Inference;

/// <summary>Small contracts and frames for engine tests: 20-frame windows, hop 10, 8 kHz framing (10 ms per frame).</summary>
internal static class TestData
{
    public static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];

    public static ModelContract Contract(int window = 20, int hop = 10, int minFrames = 16) =>
        new(FeatureConfig.Telephone8k, ModelContract.LogMel, Labels, window, hop, minFrames,
            "test-model", "0.1", "none", "none");

    public static float Floor => MathF.Log(FeatureConfig.Telephone8k.LogFloor);

    /// <summary>A loud frame (about -10 dBFS) whose band <paramref name="label"/> stands out, so <see cref="MeanBandModel"/> picks that label.</summary>
    public static float[] Speech(int label)
    {
        var row = new float[FeatureConfig.Telephone8k.MelBands];
        Array.Fill(row, -2f);
        row[label] = 2f;
        return row;
    }

    public static float[] Silence()
    {
        var row = new float[FeatureConfig.Telephone8k.MelBands];
        Array.Fill(row, Floor);
        return row;
    }

    /// <summary>Rows concatenated, row-major [frames, bands].</summary>
    public static float[] Rows(params IEnumerable<float[]>[] parts) => parts.SelectMany(p => p).SelectMany(r => r).ToArray();

    public static IEnumerable<float[]> Repeat(float[] row, int count) => Enumerable.Repeat(row, count);

    public static FeatureFrames Frames(string speaker, long sequence, long firstFrame, float[] rows, bool isFinal = false, string call = "call-1") =>
        new(new StreamKey(StreamKey.DefaultTenant, call, speaker), SpeakerRole.Customer, sequence, firstFrame, rows.Length / FeatureConfig.Telephone8k.MelBands,
            FeatureConfig.Telephone8k.MelBands, rows, isFinal, DateTimeOffset.UnixEpoch.AddSeconds(sequence));

    /// <summary>Feeds <paramref name="rows"/> as messages of <paramref name="chunkFrames"/> frames, the last one final.</summary>
    public static List<FeatureFrames> Chunked(string speaker, float[] rows, int chunkFrames, bool final = true, string call = "call-1", long firstFrame = 0, long firstSequence = 0)
    {
        var bands = FeatureConfig.Telephone8k.MelBands;
        var frames = rows.Length / bands;
        var messages = new List<FeatureFrames>();
        for (var start = 0; start < frames || messages.Count == 0; start += chunkFrames)
        {
            var count = Math.Min(chunkFrames, frames - start);
            var isLast = start + chunkFrames >= frames;
            messages.Add(Frames(speaker, firstSequence + messages.Count, firstFrame + start, rows.AsSpan(start * bands, count * bands).ToArray(), final && isLast, call));
        }
        return messages;
    }

    public static List<EmotionWindow> Run(ClassifierEngine engine, IEnumerable<FeatureFrames> messages)
    {
        var results = new List<EmotionWindow>();
        foreach (var m in messages) engine.Accept(m);
        engine.Flush(results);
        return results;
    }
}

/// <summary>
/// A deterministic stand-in for the network: logit l is the mean over time of input band l, so the label is
/// the band that stands out. Records every call so tests can check batching and what was fed.
/// </summary>
internal sealed class MeanBandModel(ModelContract contract) : IEmotionModel
{
    public ModelContract Contract { get; } = contract;

    public List<int> BatchSizes { get; } = [];

    public List<float[]> Inputs { get; } = [];

    /// <summary>Each window's prosodic statistics, for a contract that reads prosody.</summary>
    public List<float[]> Prosody { get; } = [];

    public void Run(ReadOnlySpan<float> batch, int batchSize, int frames, Span<float> probabilities, ReadOnlySpan<float> prosody = default)
    {
        BatchSizes.Add(batchSize);
        if (Contract.Prosody)
            for (var n = 0; n < batchSize; n++) Prosody.Add(prosody.Slice(n * ProsodyStatistics.Count, ProsodyStatistics.Count).ToArray());
        var bands = Contract.InputBands;
        var labels = Contract.Labels.Count;
        for (var n = 0; n < batchSize; n++)
        {
            var window = batch.Slice(n * bands * frames, bands * frames);
            Inputs.Add(window.ToArray());
            var row = probabilities.Slice(n * labels, labels);
            for (var l = 0; l < labels; l++)
            {
                var sum = 0f;
                foreach (var v in window.Slice(l * frames, frames)) sum += v;
                row[l] = sum / frames;
            }
            System.Numerics.Tensors.TensorPrimitives.SoftMax(row, row);
        }
    }
}
