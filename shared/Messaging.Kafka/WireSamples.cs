using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Streaming.Audio;
using Streaming.Features;

namespace Streaming.Messaging.Kafka;

/// <summary>How a chunk's samples (or a frames message's log-mels) are stored in the payload; the reader gets back the very same floats from each.</summary>
internal enum SampleForm : byte
{
    Float32 = 0,
    Pcm16 = 1,
    MuLaw = 2,
    ALaw = 3,

    /// <summary>IEEE binary16, two bytes a value: log-mel frames, which the featurizer rounds to half precision.</summary>
    Half = 4,
}

/// <summary>
/// Audio travels Kafka as it arrived: ingest decodes every platform's audio to floats, and the codec stores a chunk in
/// the narrowest form that reproduces those floats exactly, so G.711 telephone audio costs one byte per sample on the
/// wire, 16-bit PCM two, and only audio that is neither (resampled to the model's rate, or float input) four. Exact, not
/// approximate: the featurizer computes the same features whatever form a chunk took.
/// Log-mel frames travel the same way (<see cref="NarrowestFrames"/>): the featurizer stage rounds every frame it publishes
/// to half precision (<see cref="FramePrecision"/>) in both modes, so they go as half, two bytes a value, and a distributed
/// classifier decodes bit for bit the values the embedded pipeline's classifier gets; frames that are not all halves (another
/// producer's) go as float32. The codec never rounds.
/// </summary>
internal static class WireSamples
{
    /// <summary>The narrowest form whose decoding gives back every sample bit for bit (a -0 aside, which decodes as 0).</summary>
    public static SampleForm Narrowest(ReadOnlySpan<float> samples)
    {
        bool muLaw = true, aLaw = true;
        foreach (var sample in samples)
        {
            var scaled = sample * 32768f; // exact: a power of two
            if (scaled != MathF.Round(scaled) || scaled < short.MinValue || scaled > short.MaxValue) return SampleForm.Float32; // NaN fails too
            var pcm = (short)scaled;
            muLaw = muLaw && G711.MuLawDecode(G711.MuLawEncode(pcm)) == pcm;
            aLaw = aLaw && G711.ALawDecode(G711.ALawEncode(pcm)) == pcm;
        }
        return muLaw ? SampleForm.MuLaw : aLaw ? SampleForm.ALaw : SampleForm.Pcm16;
    }

    /// <summary>
    /// Half when every value is one, else float32. One vectorized pass (1,280 values for 200 ms of frames), cheap beside the
    /// per-sample G.711 round trips of <see cref="Narrowest"/>: the frames codec runs it when sizing and again when writing
    /// instead of keeping the result as the audio codec does.
    /// </summary>
    public static SampleForm NarrowestFrames(ReadOnlySpan<float> logMel) => FramePrecision.IsHalf(logMel) ? SampleForm.Half : SampleForm.Float32;

    /// <summary>Bytes of the form byte, the count and the samples.</summary>
    public static int SizeOf(SampleForm form, int count) => 1 + 4 + count * BytesPerSample(form);

    public static void Write(ref PayloadWriter writer, ReadOnlySpan<float> samples, SampleForm form)
    {
        writer.Byte((byte)form);
        if (form == SampleForm.Float32)
        {
            writer.Floats(samples);
            return;
        }
        writer.Int32(samples.Length);
        var destination = writer.Reserve(samples.Length * BytesPerSample(form));
        switch (form)
        {
            case SampleForm.MuLaw: G711.MuLawEncode(samples, destination); break;
            case SampleForm.ALaw: G711.ALawEncode(samples, destination); break;
            case SampleForm.Half:
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the wire format copies halves as little-endian memory");
                TensorPrimitives.ConvertToHalf(samples, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            default:
                for (var i = 0; i < samples.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(destination[(2 * i)..], (short)(samples[i] * 32768f));
                break;
        }
    }

    public static float[] Read(ref PayloadReader reader, string field)
    {
        var form = (SampleForm)reader.Byte(field);
        if (form == SampleForm.Float32) return reader.Floats(field);
        if (form is not (SampleForm.Pcm16 or SampleForm.MuLaw or SampleForm.ALaw or SampleForm.Half)) throw new MessageDecodeException($"field '{field}' has unknown sample form {(byte)form}");
        var count = reader.Int32(field);
        if (count < 0 || count > reader.Remaining / BytesPerSample(form)) throw new MessageDecodeException($"field '{field}' claims {count} values of form {form}, {reader.Remaining} bytes left");
        var source = reader.Take(count * BytesPerSample(form), field);
        var samples = new float[count];
        switch (form)
        {
            case SampleForm.MuLaw: G711.MuLawDecode(source, samples); break;
            case SampleForm.ALaw: G711.ALawDecode(source, samples); break;
            case SampleForm.Half: TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), samples); break;
            default:
                for (var i = 0; i < count; i++) samples[i] = BinaryPrimitives.ReadInt16LittleEndian(source[(2 * i)..]) / 32768f;
                break;
        }
        return samples;
    }

    private static int BytesPerSample(SampleForm form) => form switch
    {
        SampleForm.Float32 => 4,
        SampleForm.Pcm16 or SampleForm.Half => 2,
        _ => 1,
    };
}
