using System.Text;
using System.Text.Json.Nodes;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Platforms;
using Streaming.Platforms.Twilio;

namespace Streaming.Tests.Platforms;

public sealed class TwilioMediaStreamTests
{
    private const string CallSid = "CA0123456789abcdef0123456789abcdef";
    private const string StreamSid = "MZ0123456789abcdef0123456789abcdef";

    private static IReadOnlyList<PlatformAction> Send(TwilioMediaStream stream, JsonObject message) =>
        stream.OnText(Encoding.UTF8.GetBytes(message.ToJsonString())).ToList();

    private static JsonObject Start(params string[] tracks) => new()
    {
        ["event"] = "start",
        ["sequenceNumber"] = "1",
        ["streamSid"] = StreamSid,
        ["start"] = new JsonObject
        {
            ["accountSid"] = "AC0123456789abcdef0123456789abcdef",
            ["streamSid"] = StreamSid,
            ["callSid"] = CallSid,
            ["tracks"] = new JsonArray([.. tracks.Select(t => (JsonNode)t)]),
            ["customParameters"] = new JsonObject { ["agentId"] = "agent-7", ["queue"] = "billing" },
            ["mediaFormat"] = new JsonObject { ["encoding"] = "audio/x-mulaw", ["sampleRate"] = 8000, ["channels"] = 1 },
        },
    };

    private static JsonObject Media(string track, byte[] payload, int sequence = 2, int timestamp = 0) => new()
    {
        ["event"] = "media",
        ["sequenceNumber"] = sequence.ToString(),
        ["streamSid"] = StreamSid,
        ["media"] = new JsonObject { ["track"] = track, ["chunk"] = "1", ["timestamp"] = timestamp.ToString(), ["payload"] = Convert.ToBase64String(payload) },
    };

    private static readonly JsonObject StopMessage = new() { ["event"] = "stop", ["sequenceNumber"] = "9", ["streamSid"] = StreamSid, ["stop"] = new JsonObject { ["callSid"] = CallSid } };

    private static byte[] Bytes(byte value, int count) => Enumerable.Repeat(value, count).ToArray();

    [Fact]
    public void Start_BothTracks_StartsAStereoCallWithInboundAsCustomer()
    {
        var stream = new TwilioMediaStream();
        Send(stream, new JsonObject { ["event"] = "connected", ["protocol"] = "Call", ["version"] = "1.0.0" });
        var start = Assert.Single(Send(stream, Start("outbound", "inbound")).OfType<StartCall>());
        Assert.Equal(CallSid, start.CallId);
        Assert.Equal(SampleEncoding.MuLaw, start.Encoding);
        Assert.Equal(8000, start.SampleRate);
        Assert.Equal([SpeakerRole.Customer, SpeakerRole.Agent], start.Roles); // channel 0 inbound, 1 outbound
        Assert.Equal("agent-7", start.Metadata["agentId"]);
        Assert.Equal("billing", start.Metadata["queue"]);
        Assert.Equal(CallSid, start.Metadata["callSid"]);
    }

    [Fact]
    public void Start_OutboundConfiguredAsCustomer_SwapsTheRoles()
    {
        var start = Assert.Single(Send(new TwilioMediaStream(new Dictionary<string, SpeakerRole> { ["inbound"] = SpeakerRole.Agent, ["outbound"] = SpeakerRole.Customer }), Start("inbound", "outbound")).OfType<StartCall>());
        Assert.Equal([SpeakerRole.Agent, SpeakerRole.Customer], start.Roles);
    }

    [Fact]
    public void Media_BothTracks_InterleavedIntoStereoFrames()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound", "outbound"));
        Assert.Empty(Send(stream, Media("inbound", Bytes(1, 160))).OfType<CallAudio>()); // waits for its partner
        var audio = Assert.Single(Send(stream, Media("outbound", Bytes(2, 160))).OfType<CallAudio>()).Frames.ToArray();
        Assert.Equal(320, audio.Length);
        Assert.All(audio.Where((_, i) => i % 2 == 0), b => Assert.Equal(1, b));
        Assert.All(audio.Where((_, i) => i % 2 == 1), b => Assert.Equal(2, b));
    }

    [Fact]
    public void Media_DurationComesFromPayloadBytes_NotTimestamps()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound"));
        var frames = 0;
        // Timestamps that jump around and sequence numbers that start at 500: neither is used for timing.
        for (var i = 0; i < 50; i++)
            frames += Send(stream, Media("inbound", Bytes(0x7F, 160), sequence: 500 + i, timestamp: i * 999)).OfType<CallAudio>().Sum(a => a.Frames.Length);
        Assert.Equal(8000, frames);
        Assert.Equal(1.0, Assert.Single(stream.SecondsPerTrack));
    }

    [Fact]
    public void Stop_FlushesTheLaggingTrackWithSilenceAndEndsTheCall()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound", "outbound"));
        Send(stream, Media("inbound", Bytes(1, 160)));
        var actions = Send(stream, StopMessage);
        var audio = Assert.Single(actions.OfType<CallAudio>()).Frames.ToArray();
        Assert.Equal(320, audio.Length);
        Assert.All(audio.Where((_, i) => i % 2 == 1), b => Assert.Equal(0xFF, b)); // mu-law silence
        Assert.Single(actions.OfType<EndCall>());
        Assert.Equal(TwilioCloseCodes.Normal, Assert.Single(actions.OfType<CloseSocket>()).Code);
    }

    [Fact]
    public void Media_OneTrackStalls_MemoryStaysBoundedAndAudioFlows()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound", "outbound"));
        var frames = 0;
        for (var i = 0; i < 500; i++) // 10 s of inbound, no outbound at all
            frames += Send(stream, Media("inbound", Bytes(1, 160))).OfType<CallAudio>().Sum(a => a.Frames.Length / 2);
        Assert.Equal(8000 * 10 - TwilioMediaStream.MaxSkewBytes, frames);
    }

    [Fact]
    public void ConnectionLost_WithoutStop_EndsTheCallAsIfStopped()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound"));
        Send(stream, Media("inbound", Bytes(1, 160)));
        var actions = stream.OnConnectionLost();
        Assert.Single(actions.OfType<EndCall>());
        Assert.Empty(stream.OnConnectionLost().OfType<EndCall>());
    }

    [Fact]
    public void UnknownEventsDtmfAndMark_AreIgnored()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound"));
        Assert.Empty(Send(stream, new JsonObject { ["event"] = "dtmf", ["dtmf"] = new JsonObject { ["track"] = "inbound_track", ["digit"] = "1" } }));
        Assert.Empty(Send(stream, new JsonObject { ["event"] = "mark", ["mark"] = new JsonObject { ["name"] = "m1" } }));
        Assert.Empty(Send(stream, new JsonObject { ["event"] = "somethingNew" }));
        Assert.False(stream.IsEnded);
    }

    [Fact]
    public void Media_BadBase64_Closes1007AndEndsTheCall()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound"));
        var message = Media("inbound", Bytes(1, 160));
        message["media"]!["payload"] = "%%%not base64%%%";
        var actions = Send(stream, message);
        Assert.Equal(TwilioCloseCodes.InvalidPayload, Assert.Single(actions.OfType<CloseSocket>()).Code);
        Assert.Single(actions.OfType<EndCall>());
    }

    [Fact]
    public void Media_BeforeStart_Closes1008()
    {
        var actions = Send(new TwilioMediaStream(), Media("inbound", Bytes(1, 160)));
        Assert.Equal(TwilioCloseCodes.PolicyViolation, Assert.Single(actions.OfType<CloseSocket>()).Code);
        Assert.Empty(actions.OfType<EndCall>());
    }

    [Fact]
    public void Media_TrackNotAnnounced_Closes1008()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound"));
        Assert.Equal(TwilioCloseCodes.PolicyViolation, Assert.Single(Send(stream, Media("outbound", Bytes(1, 160))).OfType<CloseSocket>()).Code);
    }

    [Fact]
    public void Start_OtherMediaFormat_Closes1003()
    {
        var start = Start("inbound");
        start["start"]!["mediaFormat"]!["encoding"] = "audio/l16";
        Assert.Equal(TwilioCloseCodes.UnsupportedData, Assert.Single(Send(new TwilioMediaStream(), start).OfType<CloseSocket>()).Code);
    }

    [Fact]
    public void Start_SampleRateAsString_Closes1003()
    {
        // Found by AFL++: reading a JSON string as a number threw InvalidOperationException.
        var start = Start("inbound");
        start["start"]!["mediaFormat"]!["sampleRate"] = "8000";
        Assert.Equal(TwilioCloseCodes.UnsupportedData, Assert.Single(Send(new TwilioMediaStream(), start).OfType<CloseSocket>()).Code);
    }

    [Fact]
    public void Start_Twice_Closes1008()
    {
        var stream = new TwilioMediaStream();
        Send(stream, Start("inbound"));
        Assert.Equal(TwilioCloseCodes.PolicyViolation, Assert.Single(Send(stream, Start("inbound")).OfType<CloseSocket>()).Code);
    }

    [Theory]
    [InlineData("not json", TwilioCloseCodes.InvalidPayload)]
    [InlineData("{\"noevent\":1}", TwilioCloseCodes.InvalidPayload)]
    [InlineData("{\"event\":\"start\",\"start\":{\"callSid\":\"CA 1\"}}", TwilioCloseCodes.InvalidPayload)]
    public void Text_Malformed_ClosesWithCode(string text, int code)
    {
        var actions = new TwilioMediaStream().OnText(Encoding.UTF8.GetBytes(text));
        Assert.Equal(code, Assert.Single(actions.OfType<CloseSocket>()).Code);
    }

    [Fact]
    public void Text_InvalidUtf8InsideAString_Closes1007() =>
        Assert.Equal(TwilioCloseCodes.InvalidPayload, Assert.Single(new TwilioMediaStream().OnText((byte[])[.. "{\"event\":\""u8, 0xBF, .. "\"}"u8]).OfType<CloseSocket>()).Code);

    [Fact]
    public void Binary_Closes1003() => Assert.Equal(TwilioCloseCodes.UnsupportedData, Assert.Single(new TwilioMediaStream().OnBinary().OfType<CloseSocket>()).Code);
}
