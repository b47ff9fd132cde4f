using System.Text.Json;
using System.Text.Unicode;
using static Streaming.Platforms.JsonFields;
using Streaming.Audio;
using Streaming.Contracts;

namespace Streaming.Platforms.Twilio;

/// <summary>WebSocket close codes the Twilio endpoint uses (RFC 6455).</summary>
public static class TwilioCloseCodes
{
    public const int Normal = 1000;
    public const int UnsupportedData = 1003;   // a binary frame, or a start whose media format is not mu-law 8000 Hz mono
    public const int InvalidPayload = 1007;    // not JSON, a malformed start, a media payload that is not base64
    public const int PolicyViolation = 1008;   // media before start, a second start, a track the start did not announce
    public const int TooBig = 1009;            // a text message over MaxTextBytes, a payload over MaxPayloadBytes
}

/// <summary>
/// The receiving side of one Twilio Media Streams WebSocket (<c>&lt;Start&gt;&lt;Stream&gt;</c>), as a pure state machine:
/// <c>connected</c>, <c>start</c>, <c>media</c> (base64 mu-law, 8 kHz mono per track), <c>dtmf</c>, <c>mark</c>, <c>stop</c>.
/// With <c>both_tracks</c> one socket carries both parties: the two tracks' payloads are paired up into stereo frames
/// (channel 0 inbound, channel 1 outbound). Duration comes from payload bytes per track, never from the
/// <c>timestamp</c> field; <c>sequenceNumber</c> is not required to start anywhere; unknown events are ignored (Twilio adds
/// events over time). Not thread-safe; the returned list and any audio memory in it are reused by the next call.
/// </summary>
public sealed class TwilioMediaStream
{
    public const int SampleRate = 8000;
    public const int MaxTextBytes = 64 * 1024;

    /// <summary>Twilio sends 20 ms (160 bytes) per media message; 2 s per message is already far beyond that.</summary>
    public const int MaxPayloadBytes = 16000;

    /// <summary>
    /// How far (bytes = frames) one track may run ahead of the other before the other is taken to be silent: bounds the
    /// memory of a connection whose second track stalls, at the cost of shifting that track if it later catches up.
    /// </summary>
    public const int MaxSkewBytes = 2 * SampleRate;

    private const byte MuLawSilence = 0xFF;

    /// <summary>Twilio's default: the inbound track (what Twilio receives from the caller) is the customer.</summary>
    public static readonly IReadOnlyDictionary<string, SpeakerRole> DefaultTrackRoles =
        new Dictionary<string, SpeakerRole> { ["inbound"] = SpeakerRole.Customer, ["outbound"] = SpeakerRole.Agent };

    private readonly IReadOnlyDictionary<string, SpeakerRole> _trackRoles;
    private readonly List<PlatformAction> _actions = [];
    private TrackBuffer[] _tracks = [];
    private byte[] _frames = [];
    private bool _started;
    private bool _ended;

    /// <param name="trackRoles">which party each track carries (the tenant's TwilioTrackRoles); a track not named is <see cref="SpeakerRole.Unknown"/></param>
    public TwilioMediaStream(IReadOnlyDictionary<string, SpeakerRole>? trackRoles = null) => _trackRoles = trackRoles ?? DefaultTrackRoles;

    /// <summary>The call id (Twilio's callSid) once <c>start</c> arrived.</summary>
    public string? CallId { get; private set; }

    public string? StreamSid { get; private set; }

    /// <summary>The tracks the stream carries, in channel order.</summary>
    public IReadOnlyList<string> Tracks => [.. _tracks.Select(t => t.Name)];

    /// <summary>Audio received per track, in seconds (payload bytes / 8000).</summary>
    public IReadOnlyList<double> SecondsPerTrack => [.. _tracks.Select(t => t.Received / (double)SampleRate)];

    public bool IsEnded => _ended;

    public IReadOnlyList<PlatformAction> OnText(ReadOnlyMemory<byte> utf8)
    {
        _actions.Clear();
        if (_ended) return _actions;
        if (utf8.Length > MaxTextBytes) return Fail(TwilioCloseCodes.TooBig, $"message of {utf8.Length} bytes is larger than {MaxTextBytes}");
        // JsonDocument only checks the UTF-8 of a string when it is read (and then throws InvalidOperationException).
        if (!Utf8.IsValid(utf8.Span)) return Fail(TwilioCloseCodes.InvalidPayload, "message is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, Options);
        }
        catch (JsonException)
        {
            return Fail(TwilioCloseCodes.InvalidPayload, "message is not valid JSON");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !TryGetString(root, "event", out var name))
                return Fail(TwilioCloseCodes.InvalidPayload, "message has no 'event'");
            switch (name)
            {
                case "connected": break;
                case "start": Start(root); break;
                case "media": Media(root); break;
                case "stop": Stop(); break;
                case "dtmf": // digits can be card numbers: neither logged nor stored
                case "mark":
                default: break; // Twilio documents new events over time; ignoring them is the forward-compatible choice
            }
        }
        return _actions;
    }

    /// <summary>Twilio never sends binary frames.</summary>
    public IReadOnlyList<PlatformAction> OnBinary()
    {
        _actions.Clear();
        return _ended ? _actions : Fail(TwilioCloseCodes.UnsupportedData, "binary messages are not part of Media Streams");
    }

    /// <summary>The socket ended without <c>stop</c>: the call ends as if stopped.</summary>
    public IReadOnlyList<PlatformAction> OnConnectionLost()
    {
        _actions.Clear();
        if (!_ended && _started) _actions.Add(new LogNote(PlatformLogLevel.Warning, "connection ended without a stop message; the call ends here"));
        Finish("connection ended");
        return _actions;
    }

    private void Start(JsonElement root)
    {
        if (_started) { Fail(TwilioCloseCodes.PolicyViolation, "a second start message"); return; }
        if (!root.TryGetProperty("start", out var start) || start.ValueKind != JsonValueKind.Object)
        {
            Fail(TwilioCloseCodes.InvalidPayload, "start: no 'start' object");
            return;
        }
        if (!TryGetString(start, "callSid", out var callSid) || !IsSid(callSid))
        {
            Fail(TwilioCloseCodes.InvalidPayload, "start: 'callSid' is missing or not a Twilio SID");
            return;
        }
        TryGetString(start, "streamSid", out var streamSid);
        if (!start.TryGetProperty("mediaFormat", out var format) || format.ValueKind != JsonValueKind.Object
            || !TryGetString(format, "encoding", out var encoding) || encoding != "audio/x-mulaw"
            || !TryGetLong(format, "sampleRate", out var sampleRate) || sampleRate != SampleRate
            || (format.TryGetProperty("channels", out _) && (!TryGetLong(format, "channels", out var count) || count != 1)))
        {
            Fail(TwilioCloseCodes.UnsupportedData, "start: 'mediaFormat' must be audio/x-mulaw, 8000 Hz, 1 channel");
            return;
        }
        var names = new List<string>();
        if (start.TryGetProperty("tracks", out var tracks) && tracks.ValueKind == JsonValueKind.Array)
        {
            foreach (var track in tracks.EnumerateArray())
            {
                var trackName = track.ValueKind == JsonValueKind.String ? track.GetString() : null;
                if (trackName is not ("inbound" or "outbound") || names.Contains(trackName))
                {
                    Fail(TwilioCloseCodes.InvalidPayload, "start: 'tracks' must name inbound and/or outbound once each");
                    return;
                }
                names.Add(trackName);
            }
        }
        if (names.Count == 0)
        {
            Fail(TwilioCloseCodes.InvalidPayload, "start: 'tracks' is missing or empty");
            return;
        }
        names.Sort(StringComparer.Ordinal); // channel 0 inbound, channel 1 outbound, whatever order Twilio listed them in

        _started = true;
        CallId = callSid;
        StreamSid = streamSid;
        _tracks = [.. names.Select(n => new TrackBuffer(n))];
        _frames = new byte[_tracks.Length * (MaxSkewBytes + MaxPayloadBytes)];
        var roles = names.Select(n => _trackRoles.GetValueOrDefault(n, SpeakerRole.Unknown)).ToArray();

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        CallMetadata.TryAdd(metadata, "platform", "twilio");
        CallMetadata.TryAdd(metadata, "callSid", callSid);
        CallMetadata.TryAdd(metadata, "streamSid", streamSid);
        if (TryGetString(start, "accountSid", out var account)) CallMetadata.TryAdd(metadata, "accountSid", account);
        if (start.TryGetProperty("customParameters", out var parameters)) CallMetadata.AddObject(metadata, parameters);
        _actions.Add(new StartCall(callSid, SampleRate, SampleEncoding.MuLaw, roles, metadata));
    }

    private void Media(JsonElement root)
    {
        if (!_started) { Fail(TwilioCloseCodes.PolicyViolation, "media before the start message"); return; }
        if (!root.TryGetProperty("media", out var media) || media.ValueKind != JsonValueKind.Object
            || !media.TryGetProperty("payload", out var payloadElement) || payloadElement.ValueKind != JsonValueKind.String)
        {
            Fail(TwilioCloseCodes.InvalidPayload, "media: no 'payload' string");
            return;
        }
        TrackBuffer? track;
        if (TryGetString(media, "track", out var name)) track = _tracks.FirstOrDefault(t => t.Name == name);
        else track = _tracks.Length == 1 ? _tracks[0] : null;
        if (track is null)
        {
            Fail(TwilioCloseCodes.PolicyViolation, $"media: track '{name}' was not announced by start");
            return;
        }
        var payload = payloadElement.GetString()!;
        if (payload.Length > MaxPayloadBytes / 3 * 4)
        {
            Fail(TwilioCloseCodes.TooBig, $"media: payload larger than {MaxPayloadBytes} bytes");
            return;
        }
        if (!Convert.TryFromBase64String(payload, track.FreeSpace, out var decoded))
        {
            Fail(TwilioCloseCodes.InvalidPayload, "media: 'payload' is not base64");
            return;
        }
        track.Commit(decoded);
        Emit(flush: false);
    }

    private void Stop()
    {
        if (!_started) { Fail(TwilioCloseCodes.PolicyViolation, "stop before the start message"); return; }
        Finish("stopped by Twilio");
        _actions.Add(new CloseSocket(TwilioCloseCodes.Normal, "stream stopped"));
    }

    /// <summary>Ends the call once: the rest of the audio (the shorter track padded with silence), then <see cref="EndCall"/>.</summary>
    private void Finish(string reason)
    {
        if (_ended) return;
        _ended = true;
        if (!_started) return;
        Emit(flush: true);
        _actions.Add(new EndCall(reason));
    }

    /// <summary>
    /// Pairs up the tracks' buffered bytes into interleaved frames: as many as every track has, plus, past
    /// <see cref="MaxSkewBytes"/> of lead (or at the end), the leader's bytes against silence on the others.
    /// </summary>
    private void Emit(bool flush)
    {
        int lead = 0, common = int.MaxValue;
        foreach (var track in _tracks)
        {
            lead = Math.Max(lead, track.Count);
            common = Math.Min(common, track.Count);
        }
        var frames = flush ? lead : Math.Max(common, lead - MaxSkewBytes);
        if (frames <= 0) return;
        var channels = _tracks.Length;
        var output = _frames.AsSpan(0, frames * channels);
        for (var c = 0; c < channels; c++)
        {
            var track = _tracks[c];
            var available = Math.Min(track.Count, frames);
            var data = track.Data;
            for (var i = 0; i < available; i++) output[i * channels + c] = data[i];
            for (var i = available; i < frames; i++) output[i * channels + c] = MuLawSilence;
            track.Consume(available);
        }
        _actions.Add(new CallAudio(_frames.AsMemory(0, frames * channels)));
    }

    private IReadOnlyList<PlatformAction> Fail(int code, string reason)
    {
        _actions.Add(new LogNote(PlatformLogLevel.Warning, $"protocol violation: {reason}"));
        Finish("protocol violation");
        _actions.Add(new CloseSocket(code, reason));
        return _actions;
    }

    /// <summary>Twilio SIDs: two letters and 32 hex digits; accepted a little more loosely (safe id alphabet, bounded).</summary>
    private static bool IsSid(string text) => text.Length is >= 2 and <= 64 && text.All(char.IsAsciiLetterOrDigit);


    /// <summary>One track's bytes not yet paired with the other track's.</summary>
    private sealed class TrackBuffer(string name)
    {
        private readonly byte[] _data = new byte[MaxSkewBytes + MaxPayloadBytes];

        public string Name { get; } = name;
        public int Count { get; private set; }
        public long Received { get; private set; }
        public ReadOnlySpan<byte> Data => _data.AsSpan(0, Count);
        public Span<byte> FreeSpace => _data.AsSpan(Count);

        public void Commit(int bytes)
        {
            Count += bytes;
            Received += bytes;
        }

        public void Consume(int bytes)
        {
            _data.AsSpan(bytes, Count - bytes).CopyTo(_data);
            Count -= bytes;
        }
    }
}
