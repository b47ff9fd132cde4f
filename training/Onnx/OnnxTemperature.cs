using System.Globalization;
using Streaming.Contracts;

namespace Streaming.Training.Onnx;

/// <summary>
/// Writes a copy of an exported model whose logits are divided by a fitted temperature (a Mul by 1/T before the
/// output), so the runtime's softmax gives calibrated confidences with no change to the runtime. The argmax, and
/// so every accuracy figure, is unchanged. The metadata records the temperature (already applied) and the new version.
/// </summary>
internal static class OnnxTemperature
{
    public const string MetadataKey = "temperature";

    public static void Write(string inputPath, string outputPath, double temperature, string version)
    {
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), $"temperature must be positive, got {temperature}");
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(inputPath));
        if (model.MetadataProps.Any(p => p.Key == MetadataKey))
            throw new InvalidDataException($"model file '{inputPath}' already has a temperature applied");
        var graph = model.Graph;
        int index = graph.Node.ToList().FindIndex(n => n.Output.Contains(ModelContract.OutputName));
        if (index < 0) throw new InvalidDataException($"model file '{inputPath}' has no node producing '{ModelContract.OutputName}'");
        var output = graph.Node[index];

        var inverse = new TensorProto { Name = "temperature_inverse", DataType = (int)TensorProto.Types.DataType.Float };
        inverse.FloatData.Add((float)(1 / temperature));
        graph.Initializer.Add(inverse);
        var scale = new NodeProto { OpType = "Mul", Name = "temperature_scale", Input = { output.Input[0], inverse.Name }, Output = { "logits_calibrated" } };
        graph.Node.Insert(index, scale);
        output.Input[0] = scale.Output[0];

        OnnxGraphBuilder.SetMetadata(model, MetadataKey, temperature.ToString("R", CultureInfo.InvariantCulture));
        OnnxGraphBuilder.WriteVersion(model, version, outputPath);
    }
}
