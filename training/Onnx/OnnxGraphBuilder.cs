using Google.Protobuf;
using Streaming.Contracts;

namespace Streaming.Training.Onnx;

/// <summary>
/// Builds a small ONNX graph node by node: float/int64 initializers, nodes with attributes, one float
/// input and one float output with symbolic (dynamic) dimensions. Names are made unique by a counter.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>The newest IR and opset this writer targets; ONNX Runtime 1.31 reads both.</summary>
    public const long IrVersion = 8;
    public const long OpsetVersion = 17;

    private readonly GraphProto _graph;
    private int _counter;

    public OnnxGraphBuilder(string graphName) => _graph = new GraphProto { Name = graphName };

    /// <summary>Declares a float graph input; a string dimension is symbolic (dynamic), a number fixed.</summary>
    public string Input(string name, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, dims));
        return name;
    }

    /// <summary>Names <paramref name="value"/> as a float graph output through an Identity node.</summary>
    public void Output(string value, string name, params object[] dims)
    {
        _graph.Node.Add(new NodeProto { OpType = "Identity", Name = $"{name}_identity", Input = { value }, Output = { name } });
        _graph.Output.Add(ValueInfo(name, dims));
    }

    public string Floats(string hint, ReadOnlySpan<float> data, params long[] dims)
    {
        long count = 1;
        foreach (var d in dims) count *= d;
        if (count != data.Length) throw new ArgumentException($"initializer '{hint}': {data.Length} values for shape [{string.Join(',', dims)}]");
        var t = new TensorProto { Name = Unique(hint), DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        // raw_data is little-endian float32, the layout of the span on every platform .NET runs here
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));
        _graph.Initializer.Add(t);
        return t.Name;
    }

    public string Int64s(string hint, params long[] data)
    {
        var t = new TensorProto { Name = Unique(hint), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(data.Length);
        t.Int64Data.AddRange(data);
        _graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a node with one output and returns that output's name.</summary>
    public string Node(string opType, string[] inputs, params AttributeProto[] attributes) => NodeN(opType, inputs, 1, attributes)[0];

    public string[] NodeN(string opType, string[] inputs, int outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Unique(opType) };
        node.Input.AddRange(inputs);
        for (int i = 0; i < outputs; i++) node.Output.Add($"{node.Name}_out{i}");
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return [.. node.Output];
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>Wraps the graph in a model with IR 8 / opset 17 and the given metadata_props.</summary>
    public ModelProto Build(IReadOnlyDictionary<string, string> metadata, string modelVersion)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "streaming-train",
            ProducerVersion = modelVersion,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
            model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>Writes a model changed after export (temperature, rewrite, quantization) as a new version.</summary>
    public static void WriteVersion(ModelProto model, string version, string path)
    {
        SetMetadata(model, ModelContract.Keys.Version, version);
        model.ProducerVersion = version;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, model.ToByteArray());
    }

    /// <summary>Sets (or adds) one metadata entry of a model.</summary>
    public static void SetMetadata(ModelProto model, string key, string value)
    {
        var entry = model.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (entry is null) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        else entry.Value = value;
    }

    private string Unique(string hint) => $"{hint}_{_counter++}";

    private static ValueInfoProto ValueInfo(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string param => new TensorShapeProto.Types.Dimension { DimParam = param },
                int value => new TensorShapeProto.Types.Dimension { DimValue = value },
                long value => new TensorShapeProto.Types.Dimension { DimValue = value },
                _ => throw new ArgumentException($"value '{name}': dimension {d} is neither a name nor a size"),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
