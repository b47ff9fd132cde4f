using Streaming.Contracts;

namespace Streaming.Messaging.Kafka;

/// <summary>
/// How one message type travels on Kafka: its topic, key (the call id, so a call's speakers share a partition
/// and stay in order; the same call id of two tenants shares one too, which only costs balance), its envelope fields
/// and a compact binary payload. Event time and sequence live in the envelope only, so the payload does not repeat them.
/// </summary>
public interface IMessageCodec<T>
{
    string Topic { get; }

    /// <summary>Bumped when the payload layout changes compatibly; a breaking change is a new type and topic version.</summary>
    ushort SchemaVersion { get; }

    string Key(T message);

    long Sequence(T message);

    DateTimeOffset EventTime(T message);

    /// <summary>The value: envelope then payload, in one exactly sized array.</summary>
    byte[] Encode(T message, string? traceParent);

    /// <exception cref="MessageDecodeException">the value is not a valid message of this type</exception>
    T Decode(ReadOnlySpan<byte> value, out Envelope envelope);
}

/// <summary>Shared envelope handling: subclasses size, write and read only their payload.</summary>
public abstract class MessageCodec<T> : IMessageCodec<T>
{
    public abstract string Topic { get; }

    /// <summary>
    /// Version 2 added the tenant (after the speaker); a version 1 message is read as <see cref="StreamKey.DefaultTenant"/>'s.
    /// Version 3 added the call metadata at the end of the payload; older messages are read without it.
    /// </summary>
    public virtual ushort SchemaVersion => 3;

    /// <summary>Bound on a decoded message's metadata entries (the ingest allows 32): a corrupt count cannot allocate much.</summary>
    public const int MaxMetadataEntries = 256;

    public abstract string Key(T message);

    public abstract long Sequence(T message);

    public abstract DateTimeOffset EventTime(T message);

    public byte[] Encode(T message, string? traceParent)
    {
        var envelope = new Envelope(SchemaVersion, traceParent, EventTime(message), Sequence(message));
        var value = new byte[envelope.Size + PayloadSize(message)];
        var offset = envelope.Write(value);
        var writer = new PayloadWriter(value.AsSpan(offset));
        WritePayload(message, ref writer);
        if (offset + writer.Position != value.Length) throw new InvalidOperationException($"{GetType().Name} sized {value.Length - offset} payload bytes but wrote {writer.Position}");
        return value;
    }

    public T Decode(ReadOnlySpan<byte> value, out Envelope envelope)
    {
        envelope = Envelope.Read(value, out var payload);
        if (envelope.SchemaVersion > SchemaVersion)
            throw new MessageDecodeException($"{Topic}: schema version {envelope.SchemaVersion} is newer than this build reads ({SchemaVersion})");
        if (envelope.SchemaVersion == 0) throw new MessageDecodeException($"{Topic}: schema version 0 is unknown (this build reads 1-{SchemaVersion})");
        var reader = new PayloadReader(payload);
        var message = ReadPayload(envelope, ref reader);
        reader.End(Topic);
        return message;
    }

    private protected abstract int PayloadSize(T message);

    private protected abstract void WritePayload(T message, ref PayloadWriter writer);

    private protected abstract T ReadPayload(in Envelope envelope, ref PayloadReader reader);

    private protected static int SizeOf(StreamKey stream) =>
        PayloadWriter.SizeOf(stream.CallId) + PayloadWriter.SizeOf(stream.Speaker) + PayloadWriter.SizeOf(stream.Tenant);

    private protected static void Write(ref PayloadWriter writer, StreamKey stream, SpeakerRole role, bool isFinal)
    {
        writer.String(stream.CallId);
        writer.String(stream.Speaker);
        writer.String(stream.Tenant);
        writer.Byte((byte)role);
        writer.Byte(isFinal ? (byte)1 : (byte)0);
    }

    private protected static int SizeOf(IReadOnlyDictionary<string, string>? metadata) =>
        4 + (metadata?.Sum(p => PayloadWriter.SizeOf(p.Key) + PayloadWriter.SizeOf(p.Value)) ?? 0);

    /// <summary>Entry count (0: none), then key and value of each entry.</summary>
    private protected static void Write(ref PayloadWriter writer, IReadOnlyDictionary<string, string>? metadata)
    {
        writer.Int32(metadata?.Count ?? 0);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            writer.String(key);
            writer.String(value);
        }
    }

    private protected static IReadOnlyDictionary<string, string>? ReadMetadata(in Envelope envelope, ref PayloadReader reader)
    {
        if (envelope.SchemaVersion < 3) return null;
        var count = reader.Int32("metadata");
        if (count is < 0 or > MaxMetadataEntries) throw new MessageDecodeException($"field 'metadata' claims {count} entries (0-{MaxMetadataEntries})");
        if (count == 0) return null;
        var metadata = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++) metadata[reader.String("metadata key")] = reader.String("metadata value");
        return metadata;
    }

    private protected static (StreamKey Stream, SpeakerRole Role, bool IsFinal) ReadStream(in Envelope envelope, ref PayloadReader reader)
    {
        var callId = reader.String("callId");
        if (callId.Length == 0) throw new MessageDecodeException("field 'callId' is empty");
        var speaker = reader.String("speaker");
        if (speaker.Length == 0) throw new MessageDecodeException("field 'speaker' is empty");
        var tenant = envelope.SchemaVersion >= 2 ? reader.String("tenant") : StreamKey.DefaultTenant;
        if (tenant.Length == 0) throw new MessageDecodeException("field 'tenant' is empty");
        var role = reader.Byte("role");
        if (!Enum.IsDefined((SpeakerRole)role)) throw new MessageDecodeException($"field 'role' is {role}, not a speaker role");
        return (new StreamKey(tenant, callId, speaker), (SpeakerRole)role, reader.Bool("isFinal"));
    }
}

public sealed class AudioChunkCodec : MessageCodec<AudioChunk>
{
    public static readonly AudioChunkCodec Instance = new();

    public override string Topic => AudioChunk.Topic;

    public override string Key(AudioChunk message) => message.Stream.CallId;

    public override long Sequence(AudioChunk message) => message.Sequence;

    public override DateTimeOffset EventTime(AudioChunk message) => message.EventTime;

    /// <summary>Version 4 stores the samples in the narrowest exact form (<see cref="WireSamples"/>): G.711 audio as one byte per sample.</summary>
    public override ushort SchemaVersion => 4;

    private protected override int PayloadSize(AudioChunk m) =>
        SizeOf(m.Stream) + 2 + 8 + 4 + WireSamples.SizeOf(FormOf(m.Samples), m.Samples.Length) + SizeOf(m.Metadata);

    private protected override void WritePayload(AudioChunk m, ref PayloadWriter writer)
    {
        Write(ref writer, m.Stream, m.Role, m.IsFinal);
        writer.Int64(m.StartSample);
        writer.Int32(m.SampleRate);
        WireSamples.Write(ref writer, m.Samples, FormOf(m.Samples));
        Write(ref writer, m.Metadata);
    }

    [ThreadStatic] private static (float[]? Samples, SampleForm Form) t_lastForm;

    /// <summary>Encode sizes the payload, then writes it, on one thread: the scan of the samples is done once, not twice.</summary>
    private static SampleForm FormOf(float[] samples)
    {
        if (!ReferenceEquals(t_lastForm.Samples, samples)) t_lastForm = (samples, WireSamples.Narrowest(samples));
        return t_lastForm.Form;
    }

    private protected override AudioChunk ReadPayload(in Envelope envelope, ref PayloadReader reader)
    {
        var (stream, role, isFinal) = ReadStream(envelope, ref reader);
        var startSample = reader.Int64("startSample");
        var sampleRate = reader.Int32("sampleRate");
        if (sampleRate <= 0) throw new MessageDecodeException($"field 'sampleRate' is {sampleRate}");
        var samples = envelope.SchemaVersion >= 4 ? WireSamples.Read(ref reader, "samples") : reader.Floats("samples");
        return new AudioChunk(stream, role, envelope.Sequence, startSample, sampleRate, samples, isFinal, envelope.EventTime, ReadMetadata(envelope, ref reader));
    }
}

public sealed class FeatureFramesCodec : MessageCodec<FeatureFrames>
{
    public static readonly FeatureFramesCodec Instance = new();

    public override string Topic => FeatureFrames.Topic;

    public override string Key(FeatureFrames message) => message.Stream.CallId;

    public override long Sequence(FeatureFrames message) => message.Sequence;

    public override DateTimeOffset EventTime(FeatureFrames message) => message.EventTime;

    /// <summary>
    /// Version 4 stores the log-mels in the narrowest exact form (<see cref="WireSamples.NarrowestFrames"/>): the featurizer's
    /// frames, rounded to half precision, as IEEE half at two bytes a value. Older messages are read as float32.
    /// Version 5 adds the prosody frames after the metadata: a presence byte, then the values in the same form.
    /// </summary>
    public override ushort SchemaVersion => 5;

    private protected override int PayloadSize(FeatureFrames m) =>
        SizeOf(m.Stream) + 2 + 8 + 4 + 4 + WireSamples.SizeOf(WireSamples.NarrowestFrames(m.LogMel), m.LogMel.Length) + SizeOf(m.Metadata)
        + 1 + (m.Prosody is null ? 0 : WireSamples.SizeOf(WireSamples.NarrowestFrames(m.Prosody), m.Prosody.Length));

    private protected override void WritePayload(FeatureFrames m, ref PayloadWriter writer)
    {
        Write(ref writer, m.Stream, m.Role, m.IsFinal);
        writer.Int64(m.FirstFrame);
        writer.Int32(m.FrameCount);
        writer.Int32(m.MelBands);
        WireSamples.Write(ref writer, m.LogMel, WireSamples.NarrowestFrames(m.LogMel));
        Write(ref writer, m.Metadata);
        writer.Byte(m.Prosody is null ? (byte)0 : (byte)1);
        if (m.Prosody is not null) WireSamples.Write(ref writer, m.Prosody, WireSamples.NarrowestFrames(m.Prosody));
    }

    private protected override FeatureFrames ReadPayload(in Envelope envelope, ref PayloadReader reader)
    {
        var (stream, role, isFinal) = ReadStream(envelope, ref reader);
        var firstFrame = reader.Int64("firstFrame");
        var frameCount = reader.Int32("frameCount");
        var melBands = reader.Int32("melBands");
        if (frameCount < 0 || melBands <= 0) throw new MessageDecodeException($"fields 'frameCount' {frameCount} and 'melBands' {melBands} are not a valid shape");
        var logMel = envelope.SchemaVersion >= 4 ? WireSamples.Read(ref reader, "logMel") : reader.Floats("logMel");
        if (logMel.Length != (long)frameCount * melBands)
            throw new MessageDecodeException($"field 'logMel' has {logMel.Length} values, the shape {frameCount}x{melBands} needs {(long)frameCount * melBands}");
        var metadata = ReadMetadata(envelope, ref reader);
        var prosody = envelope.SchemaVersion >= 5 && reader.Bool("hasProsody") ? WireSamples.Read(ref reader, "prosody") : null;
        if (prosody is not null && prosody.Length != (long)frameCount * Streaming.Features.Prosody.Values)
            throw new MessageDecodeException($"field 'prosody' has {prosody.Length} values, {frameCount} frames need {(long)frameCount * Streaming.Features.Prosody.Values}");
        return new FeatureFrames(stream, role, envelope.Sequence, firstFrame, frameCount, melBands, logMel, isFinal, envelope.EventTime, metadata, prosody);
    }
}

public sealed class EmotionWindowCodec : MessageCodec<EmotionWindow>
{
    public static readonly EmotionWindowCodec Instance = new();

    public override string Topic => EmotionWindow.Topic;

    public override string Key(EmotionWindow message) => message.Stream.CallId;

    public override long Sequence(EmotionWindow message) => message.Index;

    public override DateTimeOffset EventTime(EmotionWindow message) => message.EventTime;

    private protected override int PayloadSize(EmotionWindow m) =>
        SizeOf(m.Stream) + 2 + 8 + 8 + PayloadWriter.SizeOf(m.Label) + PayloadWriter.SizeOf(m.VotedLabel) + 4 + PayloadWriter.SizeOf(m.Probabilities) + SizeOf(m.Metadata);

    private protected override void WritePayload(EmotionWindow m, ref PayloadWriter writer)
    {
        Write(ref writer, m.Stream, m.Role, m.IsFinal);
        writer.Double(m.StartSeconds);
        writer.Double(m.EndSeconds);
        writer.String(m.Label);
        writer.String(m.VotedLabel);
        writer.Single(m.Confidence);
        writer.Floats(m.Probabilities);
        Write(ref writer, m.Metadata);
    }

    private protected override EmotionWindow ReadPayload(in Envelope envelope, ref PayloadReader reader)
    {
        var (stream, role, isFinal) = ReadStream(envelope, ref reader);
        var start = reader.Double("startSeconds");
        var end = reader.Double("endSeconds");
        if (!(end >= start)) throw new MessageDecodeException($"fields 'startSeconds' {start} and 'endSeconds' {end} are not an interval");
        var label = reader.String("label");
        var voted = reader.String("votedLabel");
        var confidence = reader.Single("confidence");
        var probabilities = reader.Floats("probabilities");
        return new EmotionWindow(stream, role, envelope.Sequence, start, end, label, voted, confidence, probabilities, isFinal, envelope.EventTime,
            ReadMetadata(envelope, ref reader));
    }
}
