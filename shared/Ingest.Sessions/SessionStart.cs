using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// What a protocol adapter knows once a call's start (native <c>start</c>, AudioHook <c>open</c>, Twilio <c>start</c>) is
/// parsed and its credentials are checked: whose call, which audio, which party each channel carries.
/// </summary>
/// <param name="Tenant">From the credentials that authenticated the connection, never from a message field.</param>
/// <param name="ChannelRoles">One role per channel, in channel order (interleaved frames, or the channel numbers of per-track audio).</param>
/// <param name="Metadata">Call metadata from the platform (agent, queue, the platform's ids), stored with the timeline.</param>
public sealed record SessionStart(
    Tenant Tenant,
    string CallId,
    int SampleRate,
    SampleEncoding Encoding,
    IReadOnlyList<SpeakerRole> ChannelRoles,
    IReadOnlyDictionary<string, string>? Metadata = null)
{
    /// <summary>Call ids become Kafka keys and Redis key parts: a safe alphabet, bounded length.</summary>
    public const int MaxCallIdLength = 128;

    public const int MaxChannels = 8;

    public int Channels => ChannelRoles.Count;

    /// <summary>Bytes of one sample of one channel.</summary>
    public int SampleBytes => Encoding == SampleEncoding.Pcm16 ? 2 : 1;

    public static bool IsValidCallId(string? callId) =>
        !string.IsNullOrEmpty(callId) && callId.Length <= MaxCallIdLength && callId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>Checks every field; throws <see cref="IngestProtocolException"/> (<see cref="CloseCodes.BadStart"/>) naming the first bad one.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Tenant);
        if (!IsValidCallId(CallId))
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: the call id must be 1-{MaxCallIdLength} characters of A-Z a-z 0-9 - _ .");
        if (SampleRate is < 4000 or > 192000)
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: sample rate {SampleRate} is outside 4000-192000 Hz");
        if (Encoding is not (SampleEncoding.Pcm16 or SampleEncoding.MuLaw or SampleEncoding.ALaw))
            throw new IngestProtocolException(CloseCodes.UnknownEncoding, $"start: encoding {Encoding} is not one of pcm16, mulaw, alaw");
        if (Channels is < 1 or > MaxChannels)
            throw new IngestProtocolException(CloseCodes.BadStart, $"start: {Channels} channels is outside 1-{MaxChannels}");
        if (ChannelRoles.Count(r => r == SpeakerRole.Customer) > 1 || ChannelRoles.Count(r => r == SpeakerRole.Agent) > 1)
            throw new IngestProtocolException(CloseCodes.BadStart, "start: the roles name the customer or the agent twice");
    }
}
