using System.Buffers.Binary;
using Streaming.Audio;

namespace Streaming.Tests.Platforms;

/// <summary>
/// A stereo 8 kHz call as the platforms carry it, μ-law: the interleaved bytes to stream, and the same bytes as a μ-law
/// WAV file for <c>analyze</c> (or the embedded pipeline), so both sides see exactly the same audio.
/// </summary>
internal static class MuLawCall
{
    /// <summary>Encodes <paramref name="wav"/> (8 kHz stereo) to μ-law; writes the μ-law WAV to a temporary file the caller deletes.</summary>
    public static (byte[] Stereo, string WavPath) Encode(string wav)
    {
        using var source = WavReader.Open(wav);
        Assert.Equal((8000, 2), (source.Format.SampleRate, source.Format.Channels));
        var samples = new List<float>();
        var buffer = new float[16000];
        int read;
        while ((read = source.Read(buffer)) > 0) samples.AddRange(buffer.AsSpan(0, read));
        var muLaw = new byte[samples.Count];
        G711.MuLawEncode(samples.ToArray(), muLaw);

        var header = new byte[44];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)(36 + muLaw.Length));
        "WAVEfmt "u8.CopyTo(header.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(20), 7); // WAVE_FORMAT_MULAW
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(22), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), 8000);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), 16000);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(32), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(34), 8);
        "data"u8.CopyTo(header.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), (uint)muLaw.Length);
        var path = Path.Combine(Path.GetTempPath(), $"call-mulaw-{Guid.NewGuid():N}.wav");
        File.WriteAllBytes(path, [.. header, .. muLaw]);
        return (muLaw, path);
    }

    /// <summary>The two parties of interleaved stereo bytes: Twilio's inbound and outbound tracks.</summary>
    public static (byte[] Left, byte[] Right) Split(byte[] stereo)
    {
        var (left, right) = (new byte[stereo.Length / 2], new byte[stereo.Length / 2]);
        for (var i = 0; i < left.Length; i++) (left[i], right[i]) = (stereo[2 * i], stereo[2 * i + 1]);
        return (left, right);
    }
}
