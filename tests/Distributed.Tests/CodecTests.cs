using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

public sealed class CodecTests
{
    private static readonly AudioChunk Chunk = new(new StreamKey("acme", "c-1", "agent"), SpeakerRole.Agent, 12, 19200, 8000, [0.5f, -0.25f, 1f],
        true, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

    [Fact]
    public void Encode_AudioChunk_RoundTripsWithEnvelope()
    {
        const string trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var value = AudioChunkCodec.Instance.Encode(Chunk, trace);
        var decoded = AudioChunkCodec.Instance.Decode(value, out var envelope);

        Assert.Equal(Chunk.Samples, decoded.Samples);
        Assert.Equal(Chunk with { Samples = decoded.Samples }, decoded);
        Assert.Equal(new Envelope(4, trace, Chunk.EventTime, 12), envelope);
        // compact: 21 bytes of envelope + trace, strings (call, speaker, tenant), fixed fields, the sample form, 4 bytes per
        // sample (1f is not 16-bit: float32), no metadata (a count of 0)
        Assert.Equal(21 + trace.Length + Fixed + 4 + 12 + 4, value.Length);
    }

    /// <summary>Envelope without trace, the three strings, role, final flag, start sample, rate and the sample form byte.</summary>
    private const int Fixed = (2 + 3) + (2 + 5) + (2 + 4) + 2 + 8 + 4 + 1;

    public static TheoryData<string, int> Forms => new() { { "mu-law", 1 }, { "A-law", 1 }, { "PCM16", 2 }, { "float", 4 } };

    [Theory]
    [MemberData(nameof(Forms))]
    public void Encode_AudioChunk_NarrowestExactFormGivesBackTheSameSamples(string form, int bytesPerSample)
    {
        var random = new Random(7);
        var samples = new float[1600];
        switch (form)
        {
            case "mu-law": G711.MuLawDecode([.. Enumerable.Range(0, samples.Length).Select(_ => (byte)random.Next(256))], samples); break;
            case "A-law": G711.ALawDecode([.. Enumerable.Range(0, samples.Length).Select(_ => (byte)random.Next(256))], samples); break;
            case "PCM16": for (var i = 0; i < samples.Length; i++) samples[i] = random.Next(short.MinValue, short.MaxValue + 1) / 32768f; break;
            default: for (var i = 0; i < samples.Length; i++) samples[i] = (random.NextSingle() - 0.5f) / 3f; break;
        }
        var value = AudioChunkCodec.Instance.Encode(Chunk with { Samples = samples }, null);

        var decoded = AudioChunkCodec.Instance.Decode(value, out _);

        Assert.Equal(21 + Fixed + 4 + samples.Length * bytesPerSample + 4, value.Length);
        Assert.Equal(samples.Select(BitConverter.SingleToInt32Bits), decoded.Samples.Select(BitConverter.SingleToInt32Bits)); // bit for bit
    }

    [Fact]
    public void Decode_SchemaVersion3FloatSamples_StillReads()
    {
        // A version 3 value: float32 samples without the form byte before their count.
        var v4 = AudioChunkCodec.Instance.Encode(Chunk, null);
        var formAt = 21 + Fixed - 1;
        var v3 = v4[..formAt].Concat(v4[(formAt + 1)..]).ToArray();
        v3[2] = 3;

        var decoded = AudioChunkCodec.Instance.Decode(v3, out var envelope);

        Assert.Equal(3, envelope.SchemaVersion);
        Assert.Equal(Chunk.Samples, decoded.Samples);
    }

    [Fact]
    public void Decode_UnknownSampleForm_ThrowsNamingTheField()
    {
        var value = AudioChunkCodec.Instance.Encode(Chunk, null);
        value[21 + Fixed - 1] = 9;

        var e = Assert.Throws<MessageDecodeException>(() => AudioChunkCodec.Instance.Decode(value, out _));
        Assert.Contains("'samples' has unknown sample form 9", e.Message);
    }

    [Fact]
    public void Decode_SchemaVersion1WithoutTenant_ReadsAsTheDefaultTenant()
    {
        // A version 1 value: the same layout without the tenant string that follows the speaker, the sample form and the metadata.
        var v4 = AudioChunkCodec.Instance.Encode(Chunk, null);
        var tenantAt = 21 + (2 + 3) + (2 + 5);
        var formAt = 21 + Fixed - 1;
        var v1 = v4[..tenantAt].Concat(v4[(tenantAt + 2 + 4)..formAt]).Concat(v4[(formAt + 1)..^4]).ToArray();
        v1[2] = 1;

        var decoded = AudioChunkCodec.Instance.Decode(v1, out var envelope);

        Assert.Equal(1, envelope.SchemaVersion);
        Assert.Equal(new StreamKey(StreamKey.DefaultTenant, "c-1", "agent"), decoded.Stream);
        Assert.Equal(Chunk.Samples, decoded.Samples);
    }

    [Fact]
    public void Encode_MetadataOnEveryMessageType_RoundTrips()
    {
        var metadata = new Dictionary<string, string> { ["agentId"] = "agent-7", ["queue"] = "billing", ["note"] = "ü" };
        var chunk = AudioChunkCodec.Instance.Decode(AudioChunkCodec.Instance.Encode(Chunk with { Metadata = metadata }, null), out _);
        var frames = new FeatureFrames(Chunk.Stream, SpeakerRole.Agent, 0, 0, 1, 2, [1f, 2f], false, Chunk.EventTime, metadata);
        var window = new EmotionWindow(Chunk.Stream, SpeakerRole.Agent, 0, 0, 2, "angry", "angry", 0.9f, [0.1f, 0.9f], false, Chunk.EventTime, metadata);

        Assert.Equal(metadata, chunk.Metadata);
        Assert.Equal(metadata, FeatureFramesCodec.Instance.Decode(FeatureFramesCodec.Instance.Encode(frames, null), out _).Metadata);
        Assert.Equal(metadata, EmotionWindowCodec.Instance.Decode(EmotionWindowCodec.Instance.Encode(window, null), out _).Metadata);
    }

    [Fact]
    public void Decode_SchemaVersion2WithoutMetadata_ReadsWithoutIt()
    {
        // A version 2 value: the same layout without the metadata count at the end.
        var v3 = EmotionWindowCodec.Instance.Encode(new EmotionWindow(Chunk.Stream, SpeakerRole.Agent, 4, 3, 5, "sad", "sad", 0.5f, [0.5f, 0.5f], true, Chunk.EventTime), null);
        var v2 = v3[..^4];
        v2[2] = 2;

        var decoded = EmotionWindowCodec.Instance.Decode(v2, out var envelope);

        Assert.Equal(2, envelope.SchemaVersion);
        Assert.Null(decoded.Metadata);
        Assert.Equal(("sad", 4L, true), (decoded.VotedLabel, decoded.Index, decoded.IsFinal));
    }

    [Fact]
    public void Decode_MetadataCountOutOfRange_ThrowsNamingTheField()
    {
        var value = AudioChunkCodec.Instance.Encode(Chunk, null);
        BitConverter.GetBytes(int.MaxValue).CopyTo(value, value.Length - 4);

        var e = Assert.Throws<MessageDecodeException>(() => AudioChunkCodec.Instance.Decode(value, out _));
        Assert.Contains("'metadata'", e.Message);
    }

    [Fact]
    public void Decode_FeatureFramesWithWrongShape_ThrowsNamingTheField()
    {
        var frames = new FeatureFrames(new StreamKey(StreamKey.DefaultTenant, "c", "customer"), SpeakerRole.Customer, 0, 0, 2, 3, new float[5], false, DateTimeOffset.UnixEpoch);
        var value = FeatureFramesCodec.Instance.Encode(frames, null);

        var error = Assert.Throws<MessageDecodeException>(() => FeatureFramesCodec.Instance.Decode(value, out _));
        Assert.Contains("'logMel' has 5 values, the shape 2x3 needs 6", error.Message);
    }

    /// <summary>Envelope without trace, the three strings, role, final flag, first frame, frame count, bands and the form byte.</summary>
    private const int FramesFixed = (2 + 3) + (2 + 5) + (2 + 4) + 2 + 8 + 4 + 4 + 1;

    /// <summary>Log-mel-like values (the log floor -13.8 to 20) of 20 frames of 64 bands, as the featurizer publishes them: rounded to half.</summary>
    private static FeatureFrames Frames(bool rounded)
    {
        var random = new Random(11);
        var logMel = Enumerable.Range(0, 20 * 64).Select(_ => (float)(random.NextDouble() * 34 - 13.8)).ToArray();
        if (rounded) Streaming.Features.FramePrecision.Round(logMel);
        return new FeatureFrames(Chunk.Stream, SpeakerRole.Agent, 3, 300, 20, 64, logMel, false, Chunk.EventTime);
    }

    [Theory]
    [InlineData(true, 2)]
    [InlineData(false, 4)]
    public void Encode_FeatureFrames_HalvesAsTwoBytesOtherwiseFloat32BothBitForBit(bool rounded, int bytesPerValue)
    {
        var frames = Frames(rounded);
        var value = FeatureFramesCodec.Instance.Encode(frames, null);

        var decoded = FeatureFramesCodec.Instance.Decode(value, out var envelope);

        Assert.Equal(5, envelope.SchemaVersion);
        Assert.Equal(21 + FramesFixed + 4 + frames.LogMel.Length * bytesPerValue + 4 + 1, value.Length); // metadata count, no prosody
        Assert.Equal(frames.LogMel.Select(BitConverter.SingleToInt32Bits), decoded.LogMel.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(frames with { LogMel = decoded.LogMel }, decoded);
    }

    [Fact]
    public void Decode_SchemaVersion3FloatFrames_StillReads()
    {
        // A version 3 value: float32 log-mels without the form byte before their count (an older featurizer's, not rounded),
        // and no prosody byte after the metadata.
        var frames = Frames(rounded: false);
        var v5 = FeatureFramesCodec.Instance.Encode(frames, null);
        var formAt = 21 + FramesFixed - 1;
        var v3 = v5[..formAt].Concat(v5[(formAt + 1)..^1]).ToArray();
        v3[2] = 3;

        var decoded = FeatureFramesCodec.Instance.Decode(v3, out var envelope);

        Assert.Equal(3, envelope.SchemaVersion);
        Assert.Equal(frames.LogMel, decoded.LogMel);
    }

    [Fact]
    public void Decode_UnknownFrameForm_ThrowsNamingTheField()
    {
        var value = FeatureFramesCodec.Instance.Encode(Frames(rounded: true), null);
        value[21 + FramesFixed - 1] = 7;

        var e = Assert.Throws<MessageDecodeException>(() => FeatureFramesCodec.Instance.Decode(value, out _));
        Assert.Contains("'logMel' has unknown sample form 7", e.Message);
    }

    [Fact]
    public void Decode_TruncatedHalfFrames_ThrowsNamingTheField()
    {
        var value = FeatureFramesCodec.Instance.Encode(Frames(rounded: true), null);

        // Cut into the halves: past the metadata count (4 bytes) and prosody byte that end the payload, and one byte more.
        var e = Assert.Throws<MessageDecodeException>(() => FeatureFramesCodec.Instance.Decode(value.AsSpan(0, value.Length - 6), out _));
        Assert.Contains("'logMel' claims 1280 values of form Half", e.Message);
    }

    [Fact]
    public void Decode_FeatureFramesOfANewerOrNoSchemaVersion_ThrowsSayingSo()
    {
        // What a reader of version 4 does with this build's version 5 frames: refuse them (dead letter), never misread them.
        var value = FeatureFramesCodec.Instance.Encode(Frames(rounded: true), null);
        value[2] = 6;
        var newer = Assert.Throws<MessageDecodeException>(() => FeatureFramesCodec.Instance.Decode(value, out _));
        value[2] = 0;
        var none = Assert.Throws<MessageDecodeException>(() => FeatureFramesCodec.Instance.Decode(value, out _));

        Assert.Contains("feature-frames.v1: schema version 6 is newer than this build reads (5)", newer.Message);
        Assert.Contains("schema version 0 is unknown (this build reads 1-5)", none.Message);
    }

    [Fact]
    public void Encode_FeatureFramesWithProsody_RoundTripsBitForBitAsHalves()
    {
        var random = new Random(12);
        var prosody = Enumerable.Range(0, 20 * Streaming.Features.Prosody.Values).Select(_ => (float)(random.NextDouble() * 30 - 20)).ToArray();
        Streaming.Features.FramePrecision.Round(prosody);
        var frames = Frames(rounded: true) with { Prosody = prosody };
        var value = FeatureFramesCodec.Instance.Encode(frames, null);

        var decoded = FeatureFramesCodec.Instance.Decode(value, out _);

        Assert.Equal(21 + FramesFixed + 4 + frames.LogMel.Length * 2 + 4 + 1 + (1 + 4 + prosody.Length * 2), value.Length);
        Assert.Equal(prosody.Select(BitConverter.SingleToInt32Bits), decoded.Prosody!.Select(BitConverter.SingleToInt32Bits));
        Assert.Null(FeatureFramesCodec.Instance.Decode(FeatureFramesCodec.Instance.Encode(Frames(rounded: true), null), out _).Prosody);
    }

    [Fact]
    public void Decode_SchemaVersion4FramesWithoutTheProsodyByte_StillReads()
    {
        var frames = Frames(rounded: true);
        var v4 = FeatureFramesCodec.Instance.Encode(frames, null)[..^1];
        v4[2] = 4;

        var decoded = FeatureFramesCodec.Instance.Decode(v4, out var envelope);

        Assert.Equal(4, envelope.SchemaVersion);
        Assert.Equal(frames.LogMel, decoded.LogMel);
        Assert.Null(decoded.Prosody);
    }

    [Fact]
    public void Decode_ProsodyOfAnotherFrameCount_ThrowsNamingTheField()
    {
        var value = FeatureFramesCodec.Instance.Encode(Frames(rounded: true) with { Prosody = new float[19 * Streaming.Features.Prosody.Values] }, null);

        var e = Assert.Throws<MessageDecodeException>(() => FeatureFramesCodec.Instance.Decode(value, out _));

        Assert.Contains("'prosody' has 57 values, 20 frames need 60", e.Message);
    }

    [Fact]
    public void Decode_TruncatedValue_ThrowsNamingTheField()
    {
        var value = AudioChunkCodec.Instance.Encode(Chunk, null);

        // Cut into the samples: past the metadata count (4 bytes) that ends the payload, and 2 bytes more.
        var error = Assert.Throws<MessageDecodeException>(() => AudioChunkCodec.Instance.Decode(value.AsSpan(0, value.Length - 6), out _));
        Assert.Contains("'samples' claims 3 floats", error.Message);
    }

    [Fact]
    public void Decode_NewerSchemaVersion_Throws()
    {
        var value = AudioChunkCodec.Instance.Encode(Chunk, null);
        value[2] = 9;

        var error = Assert.Throws<MessageDecodeException>(() => AudioChunkCodec.Instance.Decode(value, out _));
        Assert.Contains("schema version 9 is newer", error.Message);
    }

    [Fact]
    public void Decode_OtherMessageType_Throws()
    {
        var value = AudioChunkCodec.Instance.Encode(Chunk, null);

        Assert.Throws<MessageDecodeException>(() => EmotionWindowCodec.Instance.Decode(value, out _));
    }

    [Fact]
    public void Validate_BootstrapWithoutPort_NamesTheSetting()
    {
        var options = new KafkaOptions { BootstrapServers = "localhost" };

        var result = Assert.Single(options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)));
        Assert.Contains("Kafka:BootstrapServers entry 'localhost' is not host:port", result.ErrorMessage);
    }
}
