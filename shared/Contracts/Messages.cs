namespace Streaming.Contracts;

/// <summary>Which party of a call a stream carries. Speakers are channels: no diarization.</summary>
public enum SpeakerRole { Customer, Agent, Unknown }

/// <summary>
/// One speaker's stream within a call of a tenant: the unit of ordering and of per-stream state. The tenant is part of
/// the identity, so two tenants can use the same call id without touching each other's streams or timelines.
/// </summary>
public readonly record struct StreamKey(string Tenant, string CallId, string Speaker)
{
    /// <summary>The tenant of calls that enter without credentials: the embedded <c>analyze</c> command.</summary>
    public const string DefaultTenant = "default";

    public override string ToString() => $"{Tenant}/{CallId}/{Speaker}";
}

/// <summary>
/// A chunk of one speaker's audio, canonical 8 kHz mono float in [-1, 1]. <see cref="Sequence"/>
/// counts chunks per stream from 0; a consumer that has seen a sequence ignores it again (idempotent).
/// The last chunk of a stream has <see cref="IsFinal"/> set (its samples may be empty). <see cref="Metadata"/> (the call's
/// metadata from the platform: agent, queue, platform ids) rides on each stream's first chunk only, null on the others.
/// </summary>
public sealed record AudioChunk(
    StreamKey Stream,
    SpeakerRole Role,
    long Sequence,
    long StartSample,
    int SampleRate,
    float[] Samples,
    bool IsFinal,
    DateTimeOffset EventTime,
    IReadOnlyDictionary<string, string>? Metadata = null) : IStreamMessage
{
    public const string Topic = "audio-chunks.v1";
}

/// <summary>
/// Consecutive log-mel frames of one stream, row-major [FrameCount, MelBands]; the featurizer publishes values rounded to
/// half precision (<see cref="Streaming.Features.FramePrecision"/>).
/// <see cref="FirstFrame"/> is the stream-wide index of the first row. <see cref="Metadata"/>: the call metadata its audio
/// chunk carried (the stream's first message only). <see cref="Prosody"/>: for a model that reads prosody, the same frames'
/// <see cref="Streaming.Features.Prosody"/> values, row-major [FrameCount, Prosody.Values], also rounded to half precision; null otherwise.
/// </summary>
public sealed record FeatureFrames(
    StreamKey Stream,
    SpeakerRole Role,
    long Sequence,
    long FirstFrame,
    int FrameCount,
    int MelBands,
    float[] LogMel,
    bool IsFinal,
    DateTimeOffset EventTime,
    IReadOnlyDictionary<string, string>? Metadata = null,
    float[]? Prosody = null) : IStreamMessage
{
    public const string Topic = "feature-frames.v1";
}

/// <summary>
/// One classified window of one stream. <see cref="Label"/> is this window's own argmax (or
/// <see cref="Silence"/>); <see cref="VotedLabel"/> is the majority over the recent windows, which is what
/// the timeline reports. <see cref="Probabilities"/> follow the model's label order and are empty for silence.
/// <see cref="Metadata"/>: the call metadata, on the first window the classifier publishes after the frames that carried it.
/// </summary>
public sealed record EmotionWindow(
    StreamKey Stream,
    SpeakerRole Role,
    long Index,
    double StartSeconds,
    double EndSeconds,
    string Label,
    string VotedLabel,
    float Confidence,
    float[] Probabilities,
    bool IsFinal,
    DateTimeOffset EventTime,
    IReadOnlyDictionary<string, string>? Metadata = null) : IStreamMessage
{
    public const string Topic = "emotion-windows.v1";
    public const string Silence = "silence";
}
