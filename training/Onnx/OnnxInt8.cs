using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Streaming.Contracts;
using Streaming.Features;

namespace Streaming.Training.Onnx;

/// <summary>
/// Static INT8 quantization in the QDQ form ONNX Runtime fuses into integer kernels: each convolution with more than
/// one input channel reads QuantizeLinear → DequantizeLinear of its input (uint8, one scale per tensor), int8
/// weights (symmetric, one scale per output channel) and int32 bias through DequantizeLinear, and its output goes
/// through QuantizeLinear → DequantizeLinear, so the runtime runs <c>QLinearConv</c>. A MaxPool reading a quantized
/// convolution is wrapped in the same scale so it runs on the uint8 values. Activation ranges are the minimum and
/// maximum seen on calibration windows. The first convolution (one input channel) stays float: its int8 kernel
/// was slower than the float one in ONNX Runtime 1.31. Everything else (ELU, LSTM, head) stays float.
/// </summary>
internal static class OnnxInt8
{
    public const string MetadataKey = "quantization";

    /// <summary>
    /// Writes a quantized copy of the model at <paramref name="inputPath"/>; <paramref name="calibration"/> holds model
    /// inputs as [1, 1, bands, frames] rows. Returns the number of convolutions quantized.
    /// </summary>
    public static int Write(string inputPath, string outputPath, IReadOnlyList<float[]> calibration, int bands, string version, string calibrationNote)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(inputPath));
        if (model.MetadataProps.Any(p => p.Key == MetadataKey))
            throw new InvalidDataException($"model file '{inputPath}' is already quantized");
        if (calibration.Count == 0) throw new ArgumentException("no calibration windows", nameof(calibration));
        var graph = model.Graph;
        var convs = graph.Node.Where(n => n.OpType == "Conv" && Initializer(graph, n.Input[1]).Dims[1] > 1).ToList();
        if (convs.Count == 0) throw new InvalidDataException($"model file '{inputPath}' has no convolution with more than one input channel");
        var ranges = Ranges(model, convs.SelectMany(c => new[] { c.Input[0], c.Output[0] }).Distinct().ToList(), calibration, bands);

        int k = 0;
        foreach (var conv in convs)
        {
            string p = $"int8_{k++}_";
            float xScale = Activation(graph, p + "x", ranges[conv.Input[0]]);
            Activation(graph, p + "y", ranges[conv.Output[0]]);
            var (weights, bias) = (Initializer(graph, conv.Input[1]), Initializer(graph, conv.Input[2]));
            QuantizeWeights(graph, p, weights, bias, xScale);
            string x = conv.Input[0], y = conv.Output[0];
            var axis = new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 };
            int at = graph.Node.IndexOf(conv);
            graph.Node.Insert(at++, Op("QuantizeLinear", [x, p + "x_scale", p + "x_zero"], p + "x_q"));
            graph.Node.Insert(at++, Op("DequantizeLinear", [p + "x_q", p + "x_scale", p + "x_zero"], p + "x_dq"));
            graph.Node.Insert(at++, Op("DequantizeLinear", [p + "w", p + "w_scale", p + "w_zero"], p + "w_dq", axis));
            graph.Node.Insert(at++, Op("DequantizeLinear", [p + "b", p + "b_scale", p + "b_zero"], p + "b_dq", axis.Clone()));
            conv.Input[0] = p + "x_dq";
            conv.Input[1] = p + "w_dq";
            conv.Input[2] = p + "b_dq";
            conv.Output[0] = p + "y_float";
            graph.Node.Insert(++at, Op("QuantizeLinear", [p + "y_float", p + "y_scale", p + "y_zero"], p + "y_q"));
            graph.Node.Insert(++at, Op("DequantizeLinear", [p + "y_q", p + "y_scale", p + "y_zero"], y));
            if (graph.Node.Where(n => n.Input.Contains(y)).ToList() is [{ OpType: "MaxPool" } pool])
            {
                string pooled = pool.Output[0];
                pool.Output[0] = p + "pool_float";
                int after = graph.Node.IndexOf(pool);
                graph.Node.Insert(after + 1, Op("QuantizeLinear", [p + "pool_float", p + "y_scale", p + "y_zero"], p + "pool_q"));
                graph.Node.Insert(after + 2, Op("DequantizeLinear", [p + "pool_q", p + "y_scale", p + "y_zero"], pooled));
            }
            graph.Initializer.Remove(weights);
            graph.Initializer.Remove(bias);
        }

        OnnxGraphBuilder.SetMetadata(model, MetadataKey, $"int8 QDQ: {convs.Count} convolutions with per-channel int8 weights and uint8 activations; {calibrationNote}");
        OnnxGraphBuilder.WriteVersion(model, version, outputPath);
        return convs.Count;
    }

    /// <summary>Minimum and maximum of each named tensor over the calibration windows (float model, ONNX Runtime CPU).</summary>
    private static Dictionary<string, (float Min, float Max)> Ranges(ModelProto model, List<string> tensors, IReadOnlyList<float[]> calibration, int bands)
    {
        var probe = model.Clone();
        foreach (var t in tensors)
            probe.Graph.Output.Add(new ValueInfoProto { Name = t, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } });
        var ranges = tensors.ToDictionary(t => t, _ => (Min: float.MaxValue, Max: float.MinValue));
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(probe.ToByteArray(), options);
        using var run = new RunOptions();
        // The convolutions read the log-mels only: a model's prosody input, when it has one, is fed zeros.
        using var prosody = session.InputNames.Contains(ModelContract.ProsodyInputName)
            ? OrtValue.CreateTensorValueFromMemory(new float[ProsodyStatistics.Count], [1, ProsodyStatistics.Count]) : null;
        foreach (var window in calibration)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(window, [1, 1, bands, window.Length / bands]);
            using var outputs = prosody is null
                ? session.Run(run, [ModelContract.InputName], [value], tensors)
                : session.Run(run, [ModelContract.InputName, ModelContract.ProsodyInputName], [value, prosody], tensors);
            for (int i = 0; i < tensors.Count; i++)
            {
                var data = outputs[i].GetTensorDataAsSpan<float>();
                var (min, max) = ranges[tensors[i]];
                foreach (var v in data) { min = Math.Min(min, v); max = Math.Max(max, v); }
                ranges[tensors[i]] = (min, max);
            }
        }
        return ranges;
    }

    /// <summary>Adds the uint8 scale and zero point covering [min, max] and 0 (so zero padding is exact); returns the scale.</summary>
    private static float Activation(GraphProto graph, string name, (float Min, float Max) range)
    {
        float min = Math.Min(0, range.Min), max = Math.Max(0, range.Max);
        float scale = max > min ? (max - min) / 255f : 1f;
        byte zero = (byte)Math.Clamp(Math.Round(-min / scale), 0, 255);
        var s = new TensorProto { Name = name + "_scale", DataType = (int)TensorProto.Types.DataType.Float };
        s.FloatData.Add(scale);
        var z = new TensorProto { Name = name + "_zero", DataType = (int)TensorProto.Types.DataType.Uint8 };
        z.Int32Data.Add(zero);
        graph.Initializer.Add(s);
        graph.Initializer.Add(z);
        return scale;
    }

    /// <summary>
    /// The largest weight magnitude: 7 bits, not 8. Without AVX-512 VNNI (Zen 3, older Intel) ONNX Runtime's uint8 ×
    /// int8 kernel adds pairs of products in int16 (VPMADDUBSW), which saturates when both are near 255 × 127; with
    /// weights within ±63 a pair stays under 32,767 on every CPU (ONNX Runtime's own "reduce_range" advice).
    /// </summary>
    private const int WeightPeak = 63;

    /// <summary>int8 weights, one symmetric scale per output channel, and int32 bias at scale input × weight.</summary>
    private static void QuantizeWeights(GraphProto graph, string p, TensorProto weights, TensorProto bias, float xScale)
    {
        var w = Floats(weights);
        var b = Floats(bias);
        int channels = (int)weights.Dims[0], per = w.Length / channels;
        var wq = new TensorProto { Name = p + "w", DataType = (int)TensorProto.Types.DataType.Int8 };
        wq.Dims.AddRange(weights.Dims);
        var ws = Vector(p + "w_scale", TensorProto.Types.DataType.Float, channels);
        var wz = Vector(p + "w_zero", TensorProto.Types.DataType.Int8, channels);
        var bq = Vector(p + "b", TensorProto.Types.DataType.Int32, channels);
        var bs = Vector(p + "b_scale", TensorProto.Types.DataType.Float, channels);
        var bz = Vector(p + "b_zero", TensorProto.Types.DataType.Int32, channels);
        var quantized = new sbyte[w.Length]; // raw bytes: int32_data would spend up to 10 bytes per negative weight
        for (int c = 0; c < channels; c++)
        {
            float peak = 0;
            for (int j = 0; j < per; j++) peak = Math.Max(peak, Math.Abs(w[c * per + j]));
            float scale = peak > 0 ? peak / WeightPeak : 1f;
            for (int j = 0; j < per; j++) quantized[c * per + j] = (sbyte)Math.Clamp(Math.Round(w[c * per + j] / scale), -WeightPeak, WeightPeak);
            ws.FloatData.Add(scale);
            wz.Int32Data.Add(0);
            bs.FloatData.Add(xScale * scale);
            bq.Int32Data.Add((int)Math.Round(b[c] / (xScale * scale)));
            bz.Int32Data.Add(0);
        }
        wq.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(quantized.AsSpan()));
        graph.Initializer.Add(wq);
        foreach (var t in new[] { ws, wz, bq, bs, bz }) graph.Initializer.Add(t);
    }

    private static TensorProto Vector(string name, TensorProto.Types.DataType type, int length)
    {
        var t = new TensorProto { Name = name, DataType = (int)type };
        t.Dims.Add(length);
        return t;
    }

    private static TensorProto Initializer(GraphProto graph, string name) =>
        graph.Initializer.FirstOrDefault(i => i.Name == name) ?? throw new InvalidDataException($"'{name}' is not an initializer");

    private static float[] Floats(TensorProto t) =>
        t.FloatData.Count > 0 ? [.. t.FloatData] : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();

    private static NodeProto Op(string type, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = type, Name = output + "_node", Output = { output } };
        node.Input.AddRange(inputs);
        node.Attribute.AddRange(attributes);
        return node;
    }
}
