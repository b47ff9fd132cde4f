using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using static Streaming.Platforms.JsonFields;
using Streaming.Audio;
using Streaming.Contracts;

namespace Streaming.Platforms.AudioHook;

public enum AudioHookState
{
    /// <summary>Connected, waiting for the client's <c>open</c>.</summary>
    Preparing,
    /// <summary>Opened: audio flows.</summary>
    Active,
    /// <summary>The client paused the stream; no audio until <c>resumed</c>.</summary>
    Paused,
    /// <summary>The server sent <c>disconnect</c> and waits for the client's <c>close</c>.</summary>
    Disconnecting,
    /// <summary><c>closed</c> sent: the client closes the socket next.</summary>
    Closed,
}

/// <summary>
/// The server side of one Genesys AudioHook v2 session, as a pure state machine: text and binary WebSocket messages
/// in, <see cref="PlatformAction"/>s out. Follows the AudioHook protocol specification and the reference
/// implementation (purecloudlabs/audiohook-reference-implementation): strict <c>seq</c>/<c>serverseq</c>, exactly one
/// of the offered media copied into <c>opened</c>, <c>pong</c> for every <c>ping</c>, <c>closed</c> for <c>close</c>, and every
/// protocol violation answered with <c>disconnect</c> reason <c>error</c> and an <c>info</c>. The server never closes
/// the socket itself: after <c>disconnect</c> the client runs the close transaction.
/// Not thread-safe: one reader per connection. The returned list is reused by the next call.
/// </summary>
public sealed class AudioHookSession
{
    public const string Version = "2";
    public const int SampleRate = 8000;

    /// <summary>The reference implementation's limit on a text message (characters; the protocol's JSON is ASCII).</summary>
    public const int MaxTextBytes = 65535;

    /// <summary>A conversation id of all zeros is Genesys' connection probe: answer, but start no call.</summary>
    public const string NullUuid = "00000000-0000-0000-0000-000000000000";

    /// <summary>
    /// The longest stretch one message may skip (pause, discarded audio, a position jump): longer is treated as a
    /// broken client, because the skipped time becomes stream time downstream.
    /// </summary>
    public static readonly TimeSpan MaxGap = TimeSpan.FromHours(1);

    private static readonly HashSet<string> CloseReasons = ["end", "error", "disconnect", "reconnect"];

    private readonly string _sessionId;
    private readonly string _organizationId;
    private readonly List<PlatformAction> _actions = [];
    private long _seq;          // last server message sequence number sent
    private long _clientSeq;    // last client message sequence number received
    private long _lastPosition;
    private long _clock;        // call time in frames: audio received plus skipped stretches
    private int _bytesPerFrame;
    private bool _callStarted;
    private bool _callEnded;

    /// <param name="sessionId">the Audiohook-Session-Id header of the upgrade request</param>
    /// <param name="organizationId">the Audiohook-Organization-Id header; the <c>open</c> message must name the same</param>
    public AudioHookSession(string sessionId, string organizationId)
    {
        _sessionId = sessionId;
        _organizationId = organizationId;
    }

    public AudioHookState State { get; private set; } = AudioHookState.Preparing;

    public string SessionId => _sessionId;

    /// <summary>The conversation (call) id from <c>open</c>; null before it.</summary>
    public string? ConversationId { get; private set; }

    /// <summary>True once <c>open</c> named the null conversation id: a connection probe, no call.</summary>
    public bool IsProbe { get; private set; }

    /// <summary>Call time so far in frames at <see cref="SampleRate"/>.</summary>
    public long Position => _clock;

    /// <summary>A text (JSON) WebSocket message from the client.</summary>
    public IReadOnlyList<PlatformAction> OnText(ReadOnlyMemory<byte> utf8)
    {
        _actions.Clear();
        if (State == AudioHookState.Closed) return _actions;
        if (utf8.Length > MaxTextBytes) return Violation($"text message of {utf8.Length} bytes is larger than {MaxTextBytes}");
        // JsonDocument only checks the UTF-8 of a string when it is read (and then throws InvalidOperationException).
        if (!Utf8.IsValid(utf8.Span)) return Violation("text message is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, Options);
        }
        catch (JsonException)
        {
            return Violation("text message is not valid JSON");
        }
        using (document)
        {
            HandleMessage(document.RootElement);
        }
        return _actions;
    }

    /// <summary>A binary WebSocket message: audio frames in the media selected by <c>opened</c>.</summary>
    public IReadOnlyList<PlatformAction> OnBinary(ReadOnlyMemory<byte> frames)
    {
        _actions.Clear();
        switch (State)
        {
            case AudioHookState.Active:
                if (_bytesPerFrame == 0) return Violation("audio received but no media was selected");
                if (frames.Length % _bytesPerFrame != 0)
                    return Violation($"audio frame of {frames.Length} bytes is not whole samples of the selected media ({_bytesPerFrame} bytes per sample of all channels)");
                if (frames.Length == 0) return _actions;
                _clock += frames.Length / _bytesPerFrame;
                if (_callStarted) _actions.Add(new CallAudio(frames));
                return _actions;
            case AudioHookState.Preparing:
                return Violation("audio received before the session was opened");
            case AudioHookState.Paused:
                return Violation("audio received while the stream is paused");
            default:
                return _actions; // after a disconnect or close the client may still have frames in flight
        }
    }

    /// <summary>The socket ended (closed or broken). A call still running ends as if closed.</summary>
    public IReadOnlyList<PlatformAction> OnConnectionLost()
    {
        _actions.Clear();
        if (State != AudioHookState.Closed) _actions.Add(new LogNote(PlatformLogLevel.Warning, $"connection ended in state {State} without a close transaction"));
        State = AudioHookState.Closed;
        EndCall("connection lost");
        return _actions;
    }

    /// <summary>
    /// Server-initiated end: <c>disconnect</c> with <paramref name="reason"/> (completed, unauthorized or error); the
    /// client then runs the close transaction.
    /// </summary>
    public IReadOnlyList<PlatformAction> Disconnect(string reason, string? info)
    {
        _actions.Clear();
        SendDisconnect(reason, info);
        return _actions;
    }

    /// <summary>
    /// Asks the client to move this session to a new connection (a rolling restart of ingest): <c>reconnect</c>.
    /// The client opens a new session and then closes this one with reason <c>reconnect</c>.
    /// </summary>
    public IReadOnlyList<PlatformAction> Reconnect(string? info)
    {
        _actions.Clear();
        if (State is AudioHookState.Active or AudioHookState.Paused)
            Send("reconnect", w => { if (info is not null) w.WriteString("info", info); });
        return _actions;
    }

    private void HandleMessage(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object) { Violation("message is not a JSON object"); return; }
        if (!TryGetString(message, "version", out var version) || version != Version) { Violation("message 'version' is not \"2\""); return; }
        if (!TryGetString(message, "type", out var type)) { Violation("message has no 'type'"); return; }
        if (!TryGetString(message, "id", out var id) || !string.Equals(id, _sessionId, StringComparison.OrdinalIgnoreCase))
        {
            Violation("message 'id' is not this session's id (the Audiohook-Session-Id header)");
            return;
        }
        // After a disconnect the client's numbering may count a message the server could not read (too big, not JSON):
        // a later seq is taken as it is, so the close transaction still completes.
        if (!TryGetLong(message, "seq", out var seq) || (seq != _clientSeq + 1 && !(State == AudioHookState.Disconnecting && seq > _clientSeq)))
        {
            Violation($"message 'seq' must be {_clientSeq + 1} (one more than the last)");
            return;
        }
        _clientSeq = seq;
        if (!TryGetLong(message, "serverseq", out var serverSeq) || serverSeq < 0 || serverSeq > _seq)
        {
            Violation($"message 'serverseq' must be 0-{_seq} (the server has sent {_seq} message(s))");
            return;
        }
        if (!message.TryGetProperty("position", out var positionElement) || positionElement.ValueKind != JsonValueKind.String
            || !AudioHookDuration.TryParseFrames(positionElement.GetString(), SampleRate, out var position))
        {
            Violation("message 'position' is not a duration like \"PT1.5S\"");
            return;
        }
        if (position < _lastPosition) { Violation("message 'position' went backwards"); return; }
        _lastPosition = position;
        if (!message.TryGetProperty("parameters", out var parameters) || parameters.ValueKind != JsonValueKind.Object)
        {
            Violation("message 'parameters' is not an object");
            return;
        }

        // After a disconnect only the close transaction matters (and pings keep being answered).
        if (State == AudioHookState.Disconnecting && type is not ("close" or "ping")) return;
        // Every message tells where the client's stream is: time it skipped without audio is call time too.
        if (State is AudioHookState.Active or AudioHookState.Paused && !AdvanceTo(position)) return;

        switch (type)
        {
            case "open": Open(parameters); break;
            case "ping": Ping(parameters); break;
            case "close": Close(parameters); break;
            case "paused": Paused(); break;
            case "resumed": Resumed(parameters); break;
            case "discarded": Discarded(parameters); break;
            case "update": RequireOpen("update"); break;
            case "error": ClientError(parameters); break;
            default: Violation($"'{type}' is not an AudioHook client message"); break;
        }
    }

    private void Open(JsonElement parameters)
    {
        if (State != AudioHookState.Preparing) { Violation("a second 'open'"); return; }
        if (!TryGetString(parameters, "organizationId", out var organization) || !string.Equals(organization, _organizationId, StringComparison.OrdinalIgnoreCase))
        {
            _actions.Add(new LogNote(PlatformLogLevel.Warning, "open: organizationId does not match the Audiohook-Organization-Id header"));
            SendDisconnect("unauthorized", "'organizationId' does not match the Audiohook-Organization-Id header");
            return;
        }
        if (!TryGetString(parameters, "conversationId", out var conversation) || !IsUuid(conversation))
        {
            Violation("open: 'conversationId' is not a UUID");
            return;
        }
        if (!parameters.TryGetProperty("media", out var media) || media.ValueKind != JsonValueKind.Array)
        {
            Violation("open: 'media' is not an array");
            return;
        }
        ConversationId = conversation.ToLowerInvariant();
        IsProbe = ConversationId == NullUuid;
        var selected = SelectMedia(media);
        if (selected is null && !IsProbe)
        {
            Violation("open: none of the offered media is supported (audio, PCMU or L16, 8000 Hz, external and/or internal channels)");
            return;
        }

        var mediaJson = selected?.Entry.GetRawText();
        Send("opened", w =>
        {
            w.WriteBoolean("startPaused", false);
            w.WritePropertyName("media");
            w.WriteStartArray();
            if (mediaJson is not null) w.WriteRawValue(mediaJson);
            w.WriteEndArray();
        });
        State = AudioHookState.Active;
        if (selected is not { } choice) return;
        _bytesPerFrame = choice.Roles.Length * (choice.Encoding == SampleEncoding.Pcm16 ? 2 : 1);
        if (IsProbe)
        {
            _actions.Add(new LogNote(PlatformLogLevel.Information, "connection probe: opened, no call is created"));
            return;
        }
        _actions.Add(new StartCall(ConversationId, SampleRate, choice.Encoding, choice.Roles, Metadata(parameters)));
        _callStarted = true;
    }

    private readonly record struct MediaChoice(JsonElement Entry, SampleEncoding Encoding, SpeakerRole[] Roles, int Score);

    /// <summary>
    /// Picks one offered media entry: stereo before mono (both parties), PCMU before L16 (what telephony carries),
    /// the customer's channel before the agent's; either channel order is fine, the roles follow it.
    /// </summary>
    private static MediaChoice? SelectMedia(JsonElement offers)
    {
        MediaChoice? best = null;
        foreach (var offer in offers.EnumerateArray())
        {
            if (offer.ValueKind != JsonValueKind.Object) continue;
            if (!TryGetString(offer, "type", out var type) || type != "audio") continue;
            if (!TryGetLong(offer, "rate", out var rate) || rate != SampleRate) continue;
            if (!TryGetString(offer, "format", out var format) || format is not ("PCMU" or "L16")) continue;
            if (!offer.TryGetProperty("channels", out var channels) || channels.ValueKind != JsonValueKind.Array) continue;
            var roles = new List<SpeakerRole>();
            foreach (var channel in channels.EnumerateArray())
            {
                var role = channel.ValueKind == JsonValueKind.String ? channel.GetString() switch
                {
                    "external" => SpeakerRole.Customer,
                    "internal" => SpeakerRole.Agent,
                    _ => (SpeakerRole?)null,
                } : null;
                if (role is null || roles.Contains(role.Value)) { roles.Clear(); break; }
                roles.Add(role.Value);
            }
            if (roles.Count is 0 or > 2) continue;
            var score = (roles.Count == 2 ? 4 : roles[0] == SpeakerRole.Customer ? 2 : 0) + (format == "PCMU" ? 1 : 0);
            if (best is null || score > best.Value.Score)
                best = new MediaChoice(offer, format == "PCMU" ? SampleEncoding.MuLaw : SampleEncoding.Pcm16, [.. roles], score);
        }
        return best;
    }

    /// <summary><c>participant</c> (ani, aniName, dnis, id) and the integration's <c>customConfig</c> as call metadata.</summary>
    private Dictionary<string, string> Metadata(JsonElement parameters)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        CallMetadata.TryAdd(metadata, "platform", "genesys-audiohook");
        CallMetadata.TryAdd(metadata, "sessionId", _sessionId);
        CallMetadata.TryAdd(metadata, "organizationId", _organizationId);
        if (parameters.TryGetProperty("participant", out var participant) && participant.ValueKind == JsonValueKind.Object)
        {
            foreach (var (field, key) in new[] { ("id", "participantId"), ("ani", "ani"), ("aniName", "aniName"), ("dnis", "dnis") })
            {
                if (TryGetString(participant, field, out var value)) CallMetadata.TryAdd(metadata, key, value);
            }
        }
        if (TryGetString(parameters, "language", out var language)) CallMetadata.TryAdd(metadata, "language", language);
        if (parameters.TryGetProperty("customConfig", out var config)) CallMetadata.AddObject(metadata, config);
        return metadata;
    }

    private void Ping(JsonElement parameters)
    {
        if (parameters.TryGetProperty("rtt", out var rtt) && (rtt.ValueKind != JsonValueKind.String || !AudioHookDuration.TryParseFrames(rtt.GetString(), SampleRate, out _)))
        {
            Violation("ping: 'rtt' is not a duration");
            return;
        }
        Send("pong", static _ => { });
    }

    private void Close(JsonElement parameters)
    {
        if (!TryGetString(parameters, "reason", out var reason) || !CloseReasons.Contains(reason))
        {
            Violation("close: 'reason' is not end, error, disconnect or reconnect");
            return;
        }
        Send("closed", static _ => { });
        State = AudioHookState.Closed;
        EndCall($"closed by the client ({reason})");
    }

    private void Paused()
    {
        if (RequireOpen("paused")) State = AudioHookState.Paused;
    }

    private void Resumed(JsonElement parameters)
    {
        if (!RequireOpen("resumed") || !TryGetStretch(parameters, "resumed", out var end)) return;
        // The paused stretch is call time: the stream clock jumps over it.
        if (AdvanceTo(end)) State = AudioHookState.Active;
    }

    private void Discarded(JsonElement parameters)
    {
        if (RequireOpen("discarded") && TryGetStretch(parameters, "discarded", out var end)) AdvanceTo(end);
    }

    private void ClientError(JsonElement parameters)
    {
        TryGetLong(parameters, "code", out var code);
        TryGetString(parameters, "message", out var text);
        _actions.Add(new LogNote(PlatformLogLevel.Warning, $"client reported error {code}: {Truncate(text, 200)}"));
    }

    private bool RequireOpen(string type)
    {
        if (State is AudioHookState.Active or AudioHookState.Paused) return true;
        Violation($"'{type}' before the session was opened");
        return false;
    }

    /// <summary>Reads <c>start</c> and <c>discarded</c> of a discarded/resumed message: the stretch ends at their sum.</summary>
    private bool TryGetStretch(JsonElement parameters, string type, out long end)
    {
        end = 0;
        if (!TryGetString(parameters, "start", out var start) || !AudioHookDuration.TryParseFrames(start, SampleRate, out var from)
            || !TryGetString(parameters, "discarded", out var discarded) || !AudioHookDuration.TryParseFrames(discarded, SampleRate, out var length))
        {
            Violation($"{type}: 'start' and 'discarded' must be durations");
            return false;
        }
        end = from + length;
        return true;
    }

    /// <summary>Moves the call clock forward to <paramref name="frames"/> (never back): time that passed without audio.</summary>
    private bool AdvanceTo(long frames)
    {
        var gap = frames - _clock;
        if (gap <= 0) return true;
        if (gap > MaxGap.TotalSeconds * SampleRate)
        {
            Violation($"the stream skips {gap / SampleRate} s at once, more than {MaxGap.TotalSeconds:0} s");
            return false;
        }
        _clock = frames;
        if (_callStarted) _actions.Add(new AdvanceClock(gap));
        return true;
    }

    private void EndCall(string reason)
    {
        if (!_callStarted || _callEnded) return;
        _callEnded = true;
        _actions.Add(new EndCall(reason));
    }

    /// <summary>A protocol violation: <c>disconnect</c> reason <c>error</c> (once), and a log line.</summary>
    private IReadOnlyList<PlatformAction> Violation(string info)
    {
        _actions.Add(new LogNote(PlatformLogLevel.Warning, $"protocol violation: {info}"));
        SendDisconnect("error", info);
        return _actions;
    }

    /// <summary>Sends <c>disconnect</c> unless one was sent already or the session is closed.</summary>
    private void SendDisconnect(string reason, string? info)
    {
        if (State is not (AudioHookState.Preparing or AudioHookState.Active or AudioHookState.Paused)) return;
        Send("disconnect", w =>
        {
            w.WriteString("reason", reason);
            if (info is not null) w.WriteString("info", info);
        });
        State = AudioHookState.Disconnecting;
    }

    private void Send(string type, Action<Utf8JsonWriter> writeParameters)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("version", Version);
            w.WriteString("type", type);
            w.WriteNumber("seq", ++_seq);
            w.WriteNumber("clientseq", _clientSeq);
            w.WriteString("id", _sessionId);
            w.WritePropertyName("parameters");
            w.WriteStartObject();
            writeParameters(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        _actions.Add(new SendText(Encoding.UTF8.GetString(buffer.WrittenSpan)));
    }



    private static bool IsUuid(string text) => text.Length == 36 && Guid.TryParseExact(text, "D", out _);

    private static string Truncate(string text, int length) => text.Length > length ? text[..length] : text;
}
