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
        Assert.Equal(new Envelope(2, trace, Chunk.EventTime, 12), envelope);
        // compact: 21 bytes of envelope + trace, strings (call, speaker, tenant), fixed fields and 4 bytes per sample
        Assert.Equal(21 + trace.Length + (2 + 3) + (2 + 5) + (2 + 4) + 2 + 8 + 4 + 4 + 12, value.Length);
    }

    [Fact]
    public void Decode_SchemaVersion1WithoutTenant_ReadsAsTheDefaultTenant()
    {
        // A version 1 value: the same layout without the tenant string that follows the speaker.
        var v2 = AudioChunkCodec.Instance.Encode(Chunk, null);
        var tenantAt = 21 + (2 + 3) + (2 + 5);
        var v1 = v2[..tenantAt].Concat(v2[(tenantAt + 2 + 4)..]).ToArray();
        v1[2] = 1;

        var decoded = AudioChunkCodec.Instance.Decode(v1, out var envelope);

        Assert.Equal(1, envelope.SchemaVersion);
        Assert.Equal(new StreamKey(StreamKey.DefaultTenant, "c-1", "agent"), decoded.Stream);
        Assert.Equal(Chunk.Samples, decoded.Samples);
    }

    [Fact]
    public void Decode_FeatureFramesWithWrongShape_ThrowsNamingTheField()
    {
        var frames = new FeatureFrames(new StreamKey(StreamKey.DefaultTenant, "c", "customer"), SpeakerRole.Customer, 0, 0, 2, 3, new float[5], false, DateTimeOffset.UnixEpoch);
        var value = FeatureFramesCodec.Instance.Encode(frames, null);

        var error = Assert.Throws<MessageDecodeException>(() => FeatureFramesCodec.Instance.Decode(value, out _));
        Assert.Contains("'logMel' has 5 values, the shape 2x3 needs 6", error.Message);
    }

    [Fact]
    public void Decode_TruncatedValue_ThrowsNamingTheField()
    {
        var value = AudioChunkCodec.Instance.Encode(Chunk, null);

        var error = Assert.Throws<MessageDecodeException>(() => AudioChunkCodec.Instance.Decode(value.AsSpan(0, value.Length - 2), out _));
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
