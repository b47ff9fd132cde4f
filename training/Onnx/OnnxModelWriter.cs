using Google.Protobuf;
using Streaming.Contracts;
using Streaming.Training.Models;

namespace Streaming.Training.Onnx;

/// <summary>Writes a trained <see cref="EmotionNet"/> as an ONNX model carrying the feature contract as metadata.</summary>
internal static class OnnxModelWriter
{
    public static ModelProto ToOnnx(EmotionNet net, ModelContract contract)
    {
        if (contract.InputKind != net.InputKind)
            throw new ArgumentException($"contract input kind '{contract.InputKind}' but the model reads '{net.InputKind}'");
        if (contract.InputBands != net.Bands)
            throw new ArgumentException($"contract gives {contract.InputBands} input bands but the model has {net.Bands}");
        if (contract.Labels.Count != net.Labels)
            throw new ArgumentException($"contract names {contract.Labels.Count} labels but the model has {net.Labels}");
        if (contract.Prosody != net.UsesProsody)
            throw new ArgumentException(net.UsesProsody ? "the model reads prosody but the contract does not say so" : "the contract reads prosody but the model has no prosodic branch");
        if (contract.MinFrames < net.MinFrames)
            throw new ArgumentException($"contract min_frames {contract.MinFrames} is below the {net.MinFrames} frames the model's pooling needs");
        net.eval();
        var g = new OnnxGraphBuilder(contract.Name);
        net.AppendGraph(g, ModelContract.InputName, ModelContract.OutputName);
        var model = g.Build(contract.ToMetadata(), contract.Version);
        OnnxEluRewrite.Apply(model);
        return model;
    }

    public static byte[] ToBytes(EmotionNet net, ModelContract contract) => ToOnnx(net, contract).ToByteArray();

    public static void Write(EmotionNet net, ModelContract contract, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, ToBytes(net, contract));
    }
}
