using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Tests.Shared;
using Streaming.Training.Onnx;

namespace Streaming.Tests.Training;

/// <summary>
/// The ELU rewrite: a graph written the old way (ELU before MaxPool) gives the same outputs on real speech windows
/// after it, with no ELU node left and every MaxPool reading its convolution directly; the shipped model is in that
/// form. (Exports apply it too; OnnxParityTests compares them with TorchSharp.)
/// </summary>
public sealed class OnnxEluRewriteTests
{
    private const int Window = 200;

    [Fact]
    public void Apply_ConvEluPoolGraphOnSpeechWindows_SameOutputsWithin1e5()
    {
        var model = ConvEluPoolGraph();
        var original = model.ToByteArray();

        Assert.Equal(2, OnnxEluRewrite.Apply(model));

        var (input, batch) = SpeechWindows(Path.Combine(RepositoryPaths.Root, "samples", "call-angry-customer.wav"));
        var expected = Run(original, input, batch);
        var actual = Run(model.ToByteArray(), input, batch);
        var maxDiff = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(maxDiff <= 1e-5f, $"max |original - rewritten| = {maxDiff} over {batch} windows");
        Assert.True(batch >= 20 && expected.Count(v => v < 0) > expected.Length / 10, "the windows should be many and reach the ELU's negative side");
        AssertRewritten(model);
        Assert.Equal(0, OnnxEluRewrite.Apply(model)); // nothing left to rewrite
    }

    [Fact]
    public void ShippedModel_IsInTheRewrittenForm()
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(RepositoryPaths.Root, "models", "emotion-cnn-bilstm.onnx")));
        AssertRewritten(model);
        Assert.Equal(4, model.Graph.Node.Count(n => n.OpType == "MaxPool"));
    }

    private static void AssertRewritten(ModelProto model)
    {
        var nodes = model.Graph.Node;
        Assert.DoesNotContain(nodes, n => n.OpType == "Elu");
        Assert.All(nodes.Where(n => n.OpType == "MaxPool"), p => Assert.Equal("Conv", nodes.Single(n => n.Output.Contains(p.Input[0])).OpType));
    }

    /// <summary>Two blocks of Conv 3x3 → ELU → MaxPool 2x2 with random weights, then the mean over time.</summary>
    private static ModelProto ConvEluPoolGraph()
    {
        var random = new Random(3);
        float[] Weights(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5) * 0.4f)];
        var g = new OnnxGraphBuilder("elu-pool");
        var x = g.Input(ModelContract.InputName, "batch", 1, FeatureConfig.Telephone8k.MelBands, "time");
        int inChannels = 1;
        foreach (var channels in new[] { 4, 8 })
        {
            x = g.Node("Conv", [x, g.Floats("w", Weights(channels * inChannels * 9), channels, inChannels, 3, 3), g.Floats("b", Weights(channels), channels)],
                OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1));
            x = g.Node("Elu", [x], OnnxGraphBuilder.Float("alpha", 1f));
            x = g.Node("MaxPool", [x], OnnxGraphBuilder.Ints("kernel_shape", 2, 2), OnnxGraphBuilder.Ints("strides", 2, 2));
            inChannels = channels;
        }
        g.Output(g.Node("ReduceMean", [x], OnnxGraphBuilder.Ints("axes", 3), OnnxGraphBuilder.Int("keepdims", 0)), ModelContract.OutputName, "batch", 8, 16);
        return g.Build(new Dictionary<string, string>(), "test");
    }

    /// <summary>The customer channel's log-mels cut into 2 s windows every second, as [batch, 1, bands, time].</summary>
    private static (float[] Input, int Batch) SpeechWindows(string wavPath)
    {
        using var wav = WavReader.Open(wavPath);
        var interleaved = new float[checked((int)wav.TotalFrames!.Value * wav.Format.Channels)];
        int read = 0;
        for (int n; (n = wav.Read(interleaved.AsSpan(read))) > 0;) read += n;
        var channel = new float[read / wav.Format.Channels];
        ChannelSplitter.Deinterleave(interleaved.AsSpan(0, read), wav.Format.Channels, 0, channel);
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

    private static float[] Run(byte[] model, float[] input, int batch)
    {
        using var session = new InferenceSession(model);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch, 1, FeatureConfig.Telephone8k.MelBands, Window]);
        using var options = new RunOptions();
        using var results = session.Run(options, [ModelContract.InputName], [value], [ModelContract.OutputName]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
