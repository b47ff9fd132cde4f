using System.Buffers.Binary;
using Streaming.Audio;

namespace Streaming.Tests.Audio;

public sealed class WavReaderErrorTests
{
    private const string Name = "calls/bad.wav";

    [Fact]
    public void Open_MissingFile_NamesFileNotFound()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.wav");
        var e = Assert.Throws<AudioFormatException>(() => WavReader.Open(path));
        AssertOneLine(e, path, "file not found");
    }

    [Fact]
    public void Ctor_NotRiff_NotRiffWave()
    {
        var bytes = "ID3\u0004\0\0\0\0\0\0this is an mp3"u8.ToArray();
        AssertOneLine(Fails(bytes), Name, "not a RIFF/WAVE file");
    }

    [Fact]
    public void Ctor_RiffButNotWave_NotRiffWave()
    {
        var bytes = new WavBytes { Data = new byte[4] }.Build();
        "AVI "u8.CopyTo(bytes.AsSpan(8));
        AssertOneLine(Fails(bytes), Name, "not a RIFF/WAVE file");
    }

    [Fact]
    public void Ctor_ShorterThanRiffHeader_TruncatedHeader()
    {
        AssertOneLine(Fails("RIFF\0\0"u8.ToArray()), Name, "truncated header");
    }

    [Fact]
    public void Ctor_EndsBeforeFmt_TruncatedHeaderNoFmt()
    {
        AssertOneLine(Fails("RIFF\u0004\0\0\0WAVE"u8.ToArray()), Name, "truncated header: no fmt chunk");
    }

    [Fact]
    public void Ctor_FmtCutShort_TruncatedHeader()
    {
        var bytes = new WavBytes { Data = new byte[100] }.Build()[..30];
        AssertOneLine(Fails(bytes), Name, "truncated header: the fmt chunk is cut short");
    }

    [Fact]
    public void Ctor_EndsBeforeData_TruncatedHeaderNoData()
    {
        var bytes = new WavBytes { Data = new byte[100] }.Build()[..36];
        AssertOneLine(Fails(bytes), Name, "truncated header: no data chunk");
    }

    [Fact]
    public void Ctor_HeaderClaimsGigabytes_TruncatedDataWithSizes()
    {
        var bytes = new WavBytes { Data = new byte[1000], DataSizeOverride = 0xFFFFFFF0 }.Build();
        AssertOneLine(Fails(bytes), Name, "truncated data: the data chunk claims 4294967280 bytes but only 1000 remain");
    }

    [Fact]
    public void Ctor_UnknownChunkLargerThanFile_Truncated()
    {
        var bytes = new WavBytes { Data = new byte[10], ChunksBeforeData = [("LIST", new byte[8])] }.Build();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(36 + 4), 1_000_000);
        AssertOneLine(Fails(bytes), Name, "the LIST chunk claims 1000000 bytes");
    }

    [Fact]
    public void Read_DataCutShortOnNonSeekableStream_TruncatedData()
    {
        var full = new WavBytes { Data = new byte[40_000] }.Build();
        var cut = full[..(full.Length - 1000)];
        using var reader = new WavReader(new TrickleStream(cut, 4096), Name);
        var e = Assert.Throws<AudioFormatException>(() => WavReaderTests.ReadAll(reader, 4096));
        AssertOneLine(e, Name, "truncated data: the data chunk claims 40000 bytes but the file ends after 39000");
    }

    [Fact]
    public void Ctor_AdpcmTag_UnsupportedEncodingNamesTag()
    {
        var bytes = new WavBytes { Tag = 2, Bits = 4, BlockAlign = 256, Data = new byte[256] }.Build();
        AssertOneLine(Fails(bytes), Name, "unsupported encoding: format tag 0x0002 (Microsoft ADPCM)");
    }

    [Fact]
    public void Ctor_Pcm12Bit_UnsupportedEncodingNamesBits()
    {
        var bytes = new WavBytes { Bits = 12, BlockAlign = 2, Data = new byte[20] }.Build();
        AssertOneLine(Fails(bytes), Name, "unsupported encoding: format tag 0x0001 (PCM) with 12 bits per sample");
    }

    [Fact]
    public void Ctor_ExtensibleUnknownSubFormat_UnsupportedEncodingNamesGuid()
    {
        var guid = new Guid("6dba3190-67bd-11cf-a0f7-0020afd156e4"); // KSDATAFORMAT_SUBTYPE_ANALOG
        var bytes = new WavBytes { SubFormat = guid, Data = new byte[20] }.Build();
        AssertOneLine(Fails(bytes), Name, $"unsupported encoding: WAVE_FORMAT_EXTENSIBLE sub-format {{{guid}}}");
    }

    [Fact]
    public void Ctor_EmptyDataChunk_ZeroLengthAudio()
    {
        AssertOneLine(Fails(new WavBytes().Build()), Name, "zero-length audio");
    }

    [Fact]
    public void Ctor_DataShorterThanOneFrame_ZeroLengthAudio()
    {
        var bytes = new WavBytes { Channels = 2, Data = new byte[2] }.Build();
        AssertOneLine(Fails(bytes), Name, "zero-length audio");
    }

    [Fact]
    public void Ctor_ZeroChannels_NamesChannels()
    {
        var bytes = new WavBytes { Channels = 0, BlockAlign = 2, Data = new byte[20] }.Build();
        AssertOneLine(Fails(bytes), Name, "zero channels");
    }

    [Fact]
    public void Ctor_ZeroSampleRate_NamesSampleRate()
    {
        var bytes = new WavBytes { SampleRate = 0, Data = new byte[20] }.Build();
        AssertOneLine(Fails(bytes), Name, "zero sample rate");
    }

    [Fact]
    public void Ctor_BlockAlignMismatch_NamesBlockAlign()
    {
        var bytes = new WavBytes { Channels = 2, BlockAlign = 2, Data = new byte[20] }.Build();
        AssertOneLine(Fails(bytes), Name, "block align 2 does not match 2 channel(s) of 2-byte samples");
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "infinite")]
    [InlineData(float.NegativeInfinity, "infinite")]
    public void Read_NonFiniteFloat32_NamesSampleOffset(float bad, string kind)
    {
        // Stereo, 10000 frames: the bad sample sits in the reader's second block, right channel.
        var data = new byte[4 * 2 * 10_000];
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * 12_345), bad);
        var bytes = new WavBytes { Tag = 3, Bits = 32, Channels = 2, Data = data }.Build();
        using var reader = new WavReader(new MemoryStream(bytes), Name);
        var e = Assert.Throws<AudioFormatException>(() => WavReaderTests.ReadAll(reader, 2 * 4000));
        AssertOneLine(e, Name, $"{kind} sample at sample offset 12345 (frame 6172, channel 1)");
    }

    [Fact]
    public void Read_NaNFloat64_NamesSampleOffset()
    {
        var data = new byte[8 * 100];
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8 * 99), double.NaN);
        var bytes = new WavBytes { Tag = 3, Bits = 64, Data = data }.Build();
        using var reader = new WavReader(new MemoryStream(bytes), Name);
        var e = Assert.Throws<AudioFormatException>(() => WavReaderTests.ReadAll(reader, 64));
        AssertOneLine(e, Name, "NaN sample at sample offset 99 (frame 99, channel 0)");
    }

    [Fact]
    public void Open_TruncatedFileOnDisk_NamesPath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"audio-test-{Guid.NewGuid():N}.wav");
        try
        {
            File.WriteAllBytes(path, new WavBytes { Data = new byte[5000] }.Build()[..3000]);
            var e = Assert.Throws<AudioFormatException>(() => WavReader.Open(path));
            AssertOneLine(e, path, "truncated data: the data chunk claims 5000 bytes but only 2956 remain");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static AudioFormatException Fails(byte[] bytes) =>
        Assert.Throws<AudioFormatException>(() => new WavReader(new MemoryStream(bytes), Name));

    private static void AssertOneLine(AudioFormatException e, string name, string problem)
    {
        Assert.StartsWith($"{name}: ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(name, e.Name);
    }
}
