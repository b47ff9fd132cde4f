using System.Text;

namespace Streaming.Contracts;

/// <summary>
/// Reads an ONNX file's <c>metadata_props</c> (ModelProto field 14) without ONNX Runtime: the featurizer takes its
/// configuration from the model contract but has no use for the graph. The file is read forward once; every other field
/// (the graph is most of the file) is skipped by its length.
/// </summary>
public static class OnnxMetadata
{
    private const int MetadataPropsField = 14;
    private const int MaxEntryBytes = 1 << 20; // the contract's values are short; a larger entry is not one we wrote

    /// <exception cref="FileNotFoundException">no such file</exception>
    /// <exception cref="InvalidDataException">not a protobuf ONNX file (names the file and what is wrong)</exception>
    public static Dictionary<string, string> Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(Directory.Exists(path) ? $"model file '{path}' is a directory" : $"model file '{path}' does not exist", path);
        using var stream = File.OpenRead(path);
        try
        {
            return Read(stream);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"model file '{path}' is not an ONNX model: {e.Message}");
        }
    }

    /// <param name="stream">a seekable stream at the start of a serialized ModelProto</param>
    public static Dictionary<string, string> Read(Stream stream)
    {
        if (stream.Length == 0) throw new InvalidDataException("the file is empty");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (TryReadVarint(stream, out var tag))
        {
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    ReadVarint(stream);
                    break;
                case 1:
                    Skip(stream, 8);
                    break;
                case 5:
                    Skip(stream, 4);
                    break;
                case 2:
                    var length = ReadVarint(stream);
                    if (field != MetadataPropsField) { Skip(stream, length); break; }
                    if (length > MaxEntryBytes) throw new InvalidDataException($"a metadata entry of {length} bytes");
                    var entry = new byte[length];
                    stream.ReadExactly(entry);
                    var (key, value) = ReadEntry(entry);
                    metadata[key] = value;
                    break;
                default:
                    throw new InvalidDataException($"protobuf wire type {tag & 7} of field {field} at byte {stream.Position}");
            }
        }
        return metadata;
    }

    /// <summary>StringStringEntryProto: key = field 1, value = field 2.</summary>
    private static (string Key, string Value) ReadEntry(byte[] entry)
    {
        using var stream = new MemoryStream(entry, writable: false);
        string key = "", value = "";
        while (TryReadVarint(stream, out var tag))
        {
            if ((tag & 7) != 2) throw new InvalidDataException($"metadata entry field {tag >> 3} has wire type {tag & 7}");
            var length = ReadVarint(stream);
            if (length > stream.Length - stream.Position) throw new InvalidDataException("a metadata entry is truncated");
            var text = Encoding.UTF8.GetString(entry, (int)stream.Position, (int)length);
            stream.Position += length;
            if (tag >> 3 == 1) key = text;
            else if (tag >> 3 == 2) value = text;
        }
        return (key, value);
    }

    private static void Skip(Stream stream, long bytes)
    {
        if (bytes > stream.Length - stream.Position) throw new InvalidDataException($"a field of {bytes} bytes runs past the end of the file");
        stream.Position += bytes;
    }

    private static long ReadVarint(Stream stream) =>
        TryReadVarint(stream, out var value) ? (long)value : throw new InvalidDataException("the file ends inside a field");

    private static bool TryReadVarint(Stream stream, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = stream.ReadByte();
            if (b < 0)
            {
                if (shift == 0) return false;
                throw new InvalidDataException("the file ends inside a varint");
            }
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (value > long.MaxValue) throw new InvalidDataException("a varint out of range");
                return true;
            }
        }
        throw new InvalidDataException("a varint longer than 10 bytes");
    }
}
