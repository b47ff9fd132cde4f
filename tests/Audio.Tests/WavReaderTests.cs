using System.Buffers.Binary;
using Streaming.Audio;

namespace Streaming.Tests.Audio;

public sealed class WavReaderTests
{
    // Enough frames to cross the reader's 16 KB block and leave vector tails in every encoding.
    private const int Frames = 5003;

    public static TheoryData<SampleEncoding, int> Encodings()
    {
        var data = new TheoryData<SampleEncoding, int>();
        foreach (var encoding in Enum.GetValues<SampleEncoding>())
        {
            data.Add(encoding, 1);
            data.Add(encoding, 3);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Read_EachEncoding_DecodesEverySample(SampleEncoding encoding, int channels)
    {
        var (data, expected) = Encode(encoding, Frames * channels);
        var (tag, bits) = TagAndBits(encoding);
        var bytes = new WavBytes { Tag = tag, Bits = bits, Channels = (ushort)channels, SampleRate = 22050, Data = data }.Build();

        using var reader = new WavReader(new MemoryStream(bytes), "test.wav");
        Assert.Equal(new AudioFormat(22050, channels, encoding), reader.Format);
        Assert.Equal(Frames, reader.TotalFrames);
        Assert.Equal(expected, ReadAll(reader, 999 * channels));
    }

    [Theory]
    [InlineData(SampleEncoding.Pcm16)]
    [InlineData(SampleEncoding.Pcm24)]
    [InlineData(SampleEncoding.Float32)]
    [InlineData(SampleEncoding.MuLaw)]
    public void Read_Extensible_DecodesSubFormat(SampleEncoding encoding)
    {
        var (data, expected) = Encode(encoding, 2 * 1000);
        var (tag, bits) = TagAndBits(encoding);
        var subFormat = new Guid($"{tag:X8}-0000-0010-8000-00aa00389b71");
        var bytes = new WavBytes { SubFormat = subFormat, Bits = bits, Channels = 2, Data = data }.Build();

        using var reader = new WavReader(new MemoryStream(bytes), "ext.wav");
        Assert.Equal(new AudioFormat(8000, 2, encoding), reader.Format);
        Assert.Equal(expected, ReadAll(reader, 256));
    }

    [Fact]
    public void Read_UnknownAndOddSizedChunks_SkipsThem()
    {
        var (data, expected) = Encode(SampleEncoding.Pcm16, 400);
        var bytes = new WavBytes
        {
            Data = data,
            ChunksBeforeFmt = [("JUNK", new byte[28])],
            ChunksBeforeData = [("LIST", "INFOISFT\u0005\0\0\0odd!\0"u8.ToArray()), ("fact", new byte[3])],
        }.Build();

        using var reader = new WavReader(new MemoryStream(bytes), "chunks.wav");
        Assert.Equal(expected, ReadAll(reader, 100));
    }

    [Fact]
    public void Read_NonSeekableTrickleStream_ReadsEverything()
    {
        var (data, expected) = Encode(SampleEncoding.Pcm24, 2 * 3000);
        var bytes = new WavBytes { Bits = 24, Channels = 2, Data = data, ChunksBeforeData = [("LIST", new byte[777])] }.Build();

        using var reader = new WavReader(new TrickleStream(bytes, 5), "socket");
        Assert.Equal(expected, ReadAll(reader, 2 * 500));
    }

    [Fact]
    public void Read_FloatBeyondFullScale_ClampedToUnitRange()
    {
        var data = new byte[4 * 20];
        for (var i = 0; i < 20; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), i % 2 == 0 ? 1.5f : -3f);
        var bytes = new WavBytes { Tag = 3, Bits = 32, Data = data }.Build();

        using var reader = new WavReader(new MemoryStream(bytes), "loud.wav");
        var samples = ReadAll(reader, 20);
        Assert.All(samples, s => Assert.Equal(1f, Math.Abs(s)));
    }

    [Fact]
    public void Read_BufferSmallerThanFrame_Throws()
    {
        var bytes = new WavBytes { Channels = 4, Data = new byte[32] }.Build();
        using var reader = new WavReader(new MemoryStream(bytes), "quad.wav");
        Assert.Throws<ArgumentException>(() => reader.Read(new float[3]));
    }

    [Fact]
    public void Read_PartialBuffer_ReturnsWholeFramesOnly()
    {
        var bytes = new WavBytes { Channels = 2, Data = new byte[2 * 2 * 10] }.Build();
        using var reader = new WavReader(new MemoryStream(bytes), "stereo.wav");
        Assert.Equal(6, reader.Read(new float[7]));
        Assert.Equal(14, reader.Read(new float[100]));
        Assert.Equal(0, reader.Read(new float[100]));
        Assert.Equal(0, reader.Read([])); // at the end, even a buffer too small for a frame reads the end
    }

    [Fact]
    public void Open_FileWrittenByWavWriter_RoundTripsWithinHalfAStep()
    {
        var path = Path.Combine(Path.GetTempPath(), $"audio-test-{Guid.NewGuid():N}.wav");
        try
        {
            var samples = new float[2 * 4001];
            for (var i = 0; i < samples.Length; i++) samples[i] = (float)Math.Sin(i * 0.01) * (i % 2 == 0 ? 0.9f : 0.2f);
            samples[0] = 1.2f; // beyond full scale: clipped to the largest code

            WavWriter.WritePcm16(path, 16000, 2, samples);
            using var reader = WavReader.Open(path);
            Assert.Equal(new AudioFormat(16000, 2, SampleEncoding.Pcm16), reader.Format);
            var read = ReadAll(reader, 1000);
            Assert.Equal(samples.Length, read.Length);
            Assert.Equal(32767 / 32768f, read[0]);
            for (var i = 1; i < samples.Length; i++) Assert.InRange(read[i] - samples[i], -0.5f / 32768, 0.5f / 32768);
        }
        finally
        {
            File.Delete(path);
        }
    }

    internal static float[] ReadAll(IAudioSource source, int bufferLength)
    {
        var all = new List<float>();
        var buffer = new float[bufferLength];
        int n;
        while ((n = source.Read(buffer)) > 0)
        {
            Assert.Equal(0, n % source.Format.Channels);
            all.AddRange(buffer.AsSpan(0, n));
        }
        return all.ToArray();
    }

    internal static (ushort Tag, ushort Bits) TagAndBits(SampleEncoding encoding) => encoding switch
    {
        SampleEncoding.Pcm8 => (1, 8),
        SampleEncoding.Pcm16 => (1, 16),
        SampleEncoding.Pcm24 => (1, 24),
        SampleEncoding.Pcm32 => (1, 32),
        SampleEncoding.Float32 => (3, 32),
        SampleEncoding.Float64 => (3, 64),
        SampleEncoding.ALaw => (6, 8),
        SampleEncoding.MuLaw => (7, 8),
        _ => throw new ArgumentOutOfRangeException(nameof(encoding)),
    };

    /// <summary>
    /// Pseudo-random raw samples covering each encoding's full code range, and the floats they
    /// must decode to, computed independently of the reader's own conversion code.
    /// </summary>
    internal static (byte[] Data, float[] Expected) Encode(SampleEncoding encoding, int count)
    {
        var random = new Random((int)encoding * 31 + count);
        var (_, bits) = TagAndBits(encoding);
        var data = new byte[count * bits / 8];
        var expected = new float[count];
        for (var i = 0; i < count; i++)
        {
            var at = data.AsSpan(i * bits / 8);
            switch (encoding)
            {
                case SampleEncoding.Pcm8:
                    at[0] = (byte)random.Next(256);
                    expected[i] = (at[0] - 128) / 128f;
                    break;
                case SampleEncoding.Pcm16:
                    var s16 = (short)random.Next(short.MinValue, short.MaxValue + 1);
                    BinaryPrimitives.WriteInt16LittleEndian(at, s16);
                    expected[i] = s16 / 32768f;
                    break;
                case SampleEncoding.Pcm24:
                    var s24 = random.Next(-(1 << 23), 1 << 23);
                    at[0] = (byte)s24; at[1] = (byte)(s24 >> 8); at[2] = (byte)(s24 >> 16);
                    expected[i] = (float)(s24 / 8388608.0);
                    break;
                case SampleEncoding.Pcm32:
                    var s32 = random.Next(int.MinValue, int.MaxValue);
                    BinaryPrimitives.WriteInt32LittleEndian(at, s32);
                    expected[i] = (float)(s32 / 2147483648.0);
                    break;
                case SampleEncoding.Float32:
                    var f = (float)(random.NextDouble() * 2 - 1);
                    BinaryPrimitives.WriteSingleLittleEndian(at, f);
                    expected[i] = f;
                    break;
                case SampleEncoding.Float64:
                    var d = random.NextDouble() * 2 - 1;
                    BinaryPrimitives.WriteDoubleLittleEndian(at, d);
                    expected[i] = (float)d;
                    break;
                case SampleEncoding.MuLaw:
                    at[0] = (byte)random.Next(256);
                    expected[i] = G711.MuLawDecode(at[0]) / 32768f;
                    break;
                case SampleEncoding.ALaw:
                    at[0] = (byte)random.Next(256);
                    expected[i] = G711.ALawDecode(at[0]) / 32768f;
                    break;
            }
        }
        return (data, expected);
    }
}
