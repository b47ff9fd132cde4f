using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Tests.Shared;
using Streaming.Training.Onnx;

namespace Streaming.Tests.Training;

/// <summary>A small convolutional graph and real speech windows for the graph-rewriting tests.</summary>
internal static class OnnxTestGraphs
{
    public const int Window = 200;
    public const int OutputChannels = 8;

    /// <summary>Two blocks of Conv 3x3 → ELU → MaxPool 2x2 (the order exports used before the ELU rewrite) with random weights, then the mean over time.</summary>
    public static ModelProto ConvEluPool()
    {
        var random = new Random(3);
        float[] Weights(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5) * 0.4f)];
        var g = new OnnxGraphBuilder("elu-pool");
        var x = g.Input(ModelContract.InputName, "batch", 1, FeatureConfig.Telephone8k.MelBands, "time");
        int inChannels = 1;
        foreach (var channels in new[] { 4, OutputChannels })
        {
            x = g.Node("Conv", [x, g.Floats("w", Weights(channels * inChannels * 9), channels, inChannels, 3, 3), g.Floats("b", Weights(channels), channels)],
                OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1));
            x = g.Node("Elu", [x], OnnxGraphBuilder.Float("alpha", 1f));
            x = g.Node("MaxPool", [x], OnnxGraphBuilder.Ints("kernel_shape", 2, 2), OnnxGraphBuilder.Ints("strides", 2, 2));
            inChannels = channels;
        }
        g.Output(g.Node("ReduceMean", [x], OnnxGraphBuilder.Ints("axes", 3), OnnxGraphBuilder.Int("keepdims", 0)), ModelContract.OutputName, "batch", OutputChannels, 16);
        return g.Build(new Dictionary<string, string> { [ModelContract.Keys.Version] = "test" }, "test");
    }

    /// <summary>A sample call's channel as log-mels cut into 2 s windows every second, as [batch, 1, bands, time].</summary>
    public static (float[] Input, int Batch) SpeechWindows(string sample, int channelIndex)
    {
        var channel = SampleAudio.Channel(sample, channelIndex);
        var config = FeatureConfig.Telephone8k;
        var mels = FeatureExtraction.LogMel(channel, config, out int frames);
        int batch = (frames - Window) / 100 + 1;
        var input = new float[batch * config.MelBands * Window];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < Window; t++)
                for (int m = 0; m < config.MelBands; m++)
                    input[(b * config.MelBands + m) * Window + t] = mels[(b * 100 + t) * config.MelBands + m];
        return (input, batch);
    }

    /// <summary>Each window of a batch as its own [1, 1, bands, time] row.</summary>
    public static List<float[]> Rows(float[] input, int batch) => [.. input.Chunk(input.Length / batch)];

    public static float[] Run(byte[] model, float[] input, int batch, SessionOptions? options = null)
    {
        using var session = options is null ? new InferenceSession(model) : new InferenceSession(model, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch, 1, FeatureConfig.Telephone8k.MelBands, Window]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [ModelContract.InputName], [value], [ModelContract.OutputName]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
