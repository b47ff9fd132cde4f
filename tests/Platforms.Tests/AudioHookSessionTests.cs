using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Platforms;
using Streaming.Platforms.AudioHook;

namespace Streaming.Tests.Platforms;

public sealed class AudioHookSessionTests
{
    private const string SessionId = "30b0e395-84d3-4570-ac13-9a62d8f514c0";
    private const string OrganizationId = "d7934305-0972-4844-938e-9060eef73d05";
    private const string ConversationId = "090eaa2f-72fa-480a-83e0-8667ff89c0ec";

    private static readonly JsonArray StereoPcmu = [Media("PCMU", "external", "internal")];

    [Fact]
    public void Open_SeveralOffers_OpenedCopiesTheStereoPcmuOfferAndStartsTheCall()
    {
        var client = new Client();
        JsonArray offers = [Media("PCMU", "external"), Media("L16", "external", "internal"), Media("PCMU", "external", "internal"), Media("PCMU", "internal")];
        var actions = client.Open(offers);

        var opened = client.LastSent();
        Assert.Equal("opened", opened["type"]!.GetValue<string>());
        Assert.Equal(1, opened["seq"]!.GetValue<long>());
        Assert.Equal(1, opened["clientseq"]!.GetValue<long>());
        Assert.Equal(SessionId, opened["id"]!.GetValue<string>());
        var media = opened["parameters"]!["media"]!.AsArray();
        Assert.True(JsonNode.DeepEquals(offers[2], Assert.Single(media)));
        var start = Assert.Single(actions.OfType<StartCall>());
        Assert.Equal(ConversationId, start.CallId);
        Assert.Equal(SampleEncoding.MuLaw, start.Encoding);
        Assert.Equal([SpeakerRole.Customer, SpeakerRole.Agent], start.Roles);
        Assert.Equal(AudioHookState.Active, client.Session.State);
    }

    [Fact]
    public void Open_InternalFirstOffer_RolesFollowTheChannelOrder()
    {
        var client = new Client();
        var start = Assert.Single(client.Open([Media("PCMU", "internal", "external")]).OfType<StartCall>());
        Assert.Equal([SpeakerRole.Agent, SpeakerRole.Customer], start.Roles);
        Assert.Equal(["internal", "external"], client.LastSent()["parameters"]!["media"]![0]!["channels"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    [Fact]
    public void Open_OnlyL16Offered_IsAccepted()
    {
        var client = new Client();
        var start = Assert.Single(client.Open([Media("L16", "external", "internal")]).OfType<StartCall>());
        Assert.Equal(SampleEncoding.Pcm16, start.Encoding);
        // L16 stereo: 4 bytes a frame.
        Assert.Single(client.Binary(new byte[320]).OfType<CallAudio>());
        client.Binary(new byte[322]);
        Assert.Equal("error", client.LastSent()["parameters"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public void Open_NothingSupportedOffered_DisconnectsWithError()
    {
        var client = new Client();
        var actions = client.Open([Media("PCMA", "external", "internal"), Media("PCMU", "external", "internal", rate: 16000)]);
        Assert.Empty(actions.OfType<StartCall>());
        AssertDisconnect(client, "error");
    }

    [Fact]
    public void Open_OrganizationIdDiffersFromHeader_DisconnectsUnauthorized()
    {
        var client = new Client();
        var actions = client.Open(StereoPcmu, organization: "11111111-0972-4844-938e-9060eef73d05");
        Assert.Empty(actions.OfType<StartCall>());
        AssertDisconnect(client, "unauthorized");
    }

    [Fact]
    public void Probe_NullConversation_OpenedThenClosedWithoutACall()
    {
        var client = new Client();
        var opened = client.Open(StereoPcmu, conversation: AudioHookSession.NullUuid);
        Assert.Equal("opened", client.LastSent()["type"]!.GetValue<string>());
        Assert.True(client.Session.IsProbe);
        var closed = client.Send("close", new JsonObject { ["reason"] = "end" });
        Assert.Equal("closed", client.LastSent()["type"]!.GetValue<string>());
        Assert.Empty(opened.OfType<StartCall>());
        Assert.Empty(closed.OfType<EndCall>());
    }

    [Fact]
    public void Ping_AnsweredAtOnceWithPong_AlsoWhilePaused()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Send("ping", new JsonObject { ["rtt"] = "PT0.02S" });
        var pong = client.LastSent();
        Assert.Equal("pong", pong["type"]!.GetValue<string>());
        Assert.Equal(2, pong["clientseq"]!.GetValue<long>());
        client.Send("paused", []);
        client.Send("ping", []);
        Assert.Equal("pong", client.LastSent()["type"]!.GetValue<string>());
        Assert.Equal(AudioHookState.Paused, client.Session.State);
    }

    [Fact]
    public void Audio_WholeFrames_PassedThroughAsCallAudio()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        var frame = Enumerable.Range(0, 320).Select(i => (byte)i).ToArray();
        var audio = Assert.Single(client.Binary(frame).OfType<CallAudio>());
        Assert.Equal(frame, audio.Frames.ToArray());
        Assert.Equal(160, client.Session.Position);
    }

    [Fact]
    public void PauseAndResume_DiscardedStretchAdvancesTheClock()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Binary(new byte[1600]);                 // 0.1 s
        client.Send("paused", [], position: "PT0.1S");
        var resumed = client.Send("resumed", new JsonObject { ["start"] = "PT0.1S", ["discarded"] = "PT2.5S" }, position: "PT2.6S");
        Assert.Equal(2.5 * 8000, Assert.Single(resumed.OfType<AdvanceClock>()).Frames);
        Assert.Equal(AudioHookState.Active, client.Session.State);
        Assert.Single(client.Binary(new byte[320]).OfType<CallAudio>());
        Assert.Equal((long)(2.6 * 8000) + 160, client.Session.Position);
    }

    [Fact]
    public void Audio_WhilePaused_IsAViolation()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Send("paused", []);
        client.Binary(new byte[320]);
        AssertDisconnect(client, "error");
    }

    [Fact]
    public void Discarded_AdvancesTheClockByTheDiscardedAudio()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Binary(new byte[800]); // 50 ms
        var actions = client.Send("discarded", new JsonObject { ["start"] = "PT0.05S", ["discarded"] = "PT1.2S" }, position: "PT1.25S");
        Assert.Equal(9600, Assert.Single(actions.OfType<AdvanceClock>()).Frames);
        Assert.Empty(client.Binary(new byte[320]).OfType<LogNote>());
    }

    [Fact]
    public void Position_AheadOfTheAudio_AdvancesTheClock()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Binary(new byte[1600]);
        var actions = client.Send("ping", [], position: "PT1S");
        Assert.Equal(8000 - 800, Assert.Single(actions.OfType<AdvanceClock>()).Frames);
    }

    [Fact]
    public void Close_SendsClosedAndEndsTheCall()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Binary(new byte[320]);
        var actions = client.Send("close", new JsonObject { ["reason"] = "end" });
        var closed = client.LastSent();
        Assert.Equal("closed", closed["type"]!.GetValue<string>());
        Assert.Equal(2, closed["seq"]!.GetValue<long>());
        Assert.Single(actions.OfType<EndCall>());
        Assert.DoesNotContain(actions, a => a is CloseSocket);
        Assert.Equal(AudioHookState.Closed, client.Session.State);
    }

    [Fact]
    public void UpdateAndClientError_AreAcceptedWithoutDisconnect()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Send("update", new JsonObject { ["language"] = "en-US" });
        var error = client.Send("error", new JsonObject { ["code"] = 500, ["message"] = "client trouble" });
        Assert.Single(error.OfType<LogNote>());
        Assert.Equal(AudioHookState.Active, client.Session.State);
        Assert.Equal(1, client.SentCount); // only opened
    }

    [Fact]
    public void Open_ParticipantAndCustomConfig_BecomeCallMetadata()
    {
        var client = new Client();
        var start = Assert.Single(client.Open(StereoPcmu, customConfig: new JsonObject { ["queue"] = "billing", ["priority"] = 3 }).OfType<StartCall>());
        Assert.Equal("+13175550000", start.Metadata["ani"]);
        Assert.Equal("+18005550100", start.Metadata["dnis"]);
        Assert.Equal("billing", start.Metadata["queue"]);
        Assert.Equal("3", start.Metadata["priority"]);
        Assert.Equal("genesys-audiohook", start.Metadata["platform"]);
    }

    [Fact]
    public void ViolationInfo_SaysWhatWasWrong_AndTheCallStillEndsAtClose()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Binary(new byte[3]);
        var info = AssertDisconnect(client, "error");
        Assert.Contains("whole samples", info);
        Assert.Empty(client.Binary(new byte[320]));                          // frames in flight are dropped quietly
        client.Send("ping", []);
        Assert.Equal("pong", client.LastSent()["type"]!.GetValue<string>());  // pings are still answered
        var closing = client.Send("close", new JsonObject { ["reason"] = "disconnect" });
        Assert.Single(closing.OfType<EndCall>());
    }

    public static TheoryData<string, string> Violations => new()
    {
        { "not json", "not valid JSON" },
        { """{"version":"2","type":"dance","seq":1,"serverseq":0,"position":"PT0S","id":"30b0e395-84d3-4570-ac13-9a62d8f514c0","parameters":{}}""", "'dance' is not" },
        { """{"version":"2","type":"ping","seq":2,"serverseq":0,"position":"PT0S","id":"30b0e395-84d3-4570-ac13-9a62d8f514c0","parameters":{}}""", "'seq' must be 1" },
        { """{"version":"2","type":"ping","seq":1,"serverseq":5,"position":"PT0S","id":"30b0e395-84d3-4570-ac13-9a62d8f514c0","parameters":{}}""", "'serverseq'" },
        { """{"version":"2","type":"ping","seq":1,"serverseq":0,"position":"PT0S","id":"40b0e395-84d3-4570-ac13-9a62d8f514c0","parameters":{}}""", "'id'" },
        { """{"version":"1","type":"ping","seq":1,"serverseq":0,"position":"PT0S","id":"30b0e395-84d3-4570-ac13-9a62d8f514c0","parameters":{}}""", "'version'" },
        { """{"version":"2","type":"ping","seq":1,"serverseq":0,"position":"5 seconds","id":"30b0e395-84d3-4570-ac13-9a62d8f514c0","parameters":{}}""", "'position'" },
        { """{"version":"2","type":"paused","seq":1,"serverseq":0,"position":"PT0S","id":"30b0e395-84d3-4570-ac13-9a62d8f514c0","parameters":{}}""", "before the session was opened" },
        { "[1,2,3]", "not a JSON object" },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public void Text_ProtocolViolation_DisconnectsWithErrorAndInfo(string message, string expected)
    {
        var client = new Client();
        client.Collect(client.Session.OnText(Encoding.UTF8.GetBytes(message)));
        Assert.Contains(expected, AssertDisconnect(client, "error"));
    }

    [Fact]
    public void Audio_BeforeOpened_IsAViolation()
    {
        var client = new Client();
        client.Binary(new byte[320]);
        Assert.Contains("before the session was opened", AssertDisconnect(client, "error"));
    }

    [Fact]
    public void Text_InvalidUtf8InsideAString_IsAViolation()
    {
        // Found by fuzzing: JsonDocument parses this, and only reading the string throws.
        var client = new Client();
        client.Collect(client.Session.OnText((byte[])[.. "{\"version\":\""u8, 0x80, .. "\"}"u8]));
        Assert.Contains("UTF-8", AssertDisconnect(client, "error"));
    }

    [Fact]
    public void Text_Oversized_IsAViolation()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Collect(client.Session.OnText(new byte[AudioHookSession.MaxTextBytes + 1]));
        Assert.Contains("larger than", AssertDisconnect(client, "error"));
    }

    [Fact]
    public void Position_GoingBackwards_IsAViolation()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Send("ping", [], position: "PT2S");
        client.Send("ping", [], position: "PT1S");
        Assert.Contains("backwards", AssertDisconnect(client, "error"));
    }

    [Fact]
    public void Discarded_HugeGap_IsAViolation()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Send("discarded", new JsonObject { ["start"] = "PT0S", ["discarded"] = "PT90000S" });
        AssertDisconnect(client, "error");
    }

    [Fact]
    public void SecondOpen_IsAViolation()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Open(StereoPcmu);
        AssertDisconnect(client, "error");
    }

    [Fact]
    public void Reconnect_ServerInitiated_SendsReconnect()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Collect(client.Session.Reconnect("rolling restart"));
        var reconnect = client.LastSent();
        Assert.Equal("reconnect", reconnect["type"]!.GetValue<string>());
        Assert.Equal("rolling restart", reconnect["parameters"]!["info"]!.GetValue<string>());
        Assert.Equal(AudioHookState.Active, client.Session.State);
    }

    [Fact]
    public void Disconnect_ServerInitiated_ThenClientClose_EndsTheCall()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Collect(client.Session.Disconnect("completed", null));
        Assert.Equal("completed", client.LastSent()["parameters"]!["reason"]!.GetValue<string>());
        Assert.Single(client.Send("close", new JsonObject { ["reason"] = "disconnect" }).OfType<EndCall>());
    }

    [Fact]
    public void Close_AfterAnUnreadableMessageWasCounted_StillAnsweredWithClosed()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        client.Send("update", new JsonObject { ["padding"] = new string('x', AudioHookSession.MaxTextBytes) }); // counted by the client, unread by the server
        AssertDisconnect(client, "error");

        Assert.Single(client.Send("close", new JsonObject { ["reason"] = "disconnect" }).OfType<EndCall>());
        Assert.Equal("closed", client.LastSent()["type"]!.GetValue<string>());
    }

    [Fact]
    public void ConnectionLost_WithoutClose_EndsTheCall()
    {
        var client = new Client();
        client.Open(StereoPcmu);
        Assert.Single(client.Session.OnConnectionLost().OfType<EndCall>());
        Assert.Empty(client.Session.OnConnectionLost().OfType<EndCall>());
    }

    private static string AssertDisconnect(Client client, string reason)
    {
        var message = client.LastSent();
        Assert.Equal("disconnect", message["type"]!.GetValue<string>());
        Assert.Equal(reason, message["parameters"]!["reason"]!.GetValue<string>());
        Assert.Equal(AudioHookState.Disconnecting, client.Session.State);
        return message["parameters"]!["info"]!.GetValue<string>();
    }

    private static JsonObject Media(string format, params string[] channels) => Media(format, channels, 8000);

    private static JsonObject Media(string format, string a, string b, int rate) => Media(format, [a, b], rate);

    private static JsonObject Media(string format, string[] channels, int rate) => new()
    {
        ["type"] = "audio",
        ["format"] = format,
        ["channels"] = new JsonArray([.. channels.Select(c => (JsonNode)c)]),
        ["rate"] = rate,
    };

    /// <summary>A well-behaved AudioHook client: numbers its messages, tracks the server's, records what it was sent.</summary>
    private sealed class Client
    {
        private readonly List<JsonObject> _sent = [];
        private long _seq;
        private string _position = "PT0S";

        public AudioHookSession Session { get; } = new(SessionId, OrganizationId);

        public int SentCount => _sent.Count;

        public JsonObject LastSent() => _sent[^1];

        public IReadOnlyList<PlatformAction> Open(JsonArray media, string conversation = ConversationId, string organization = OrganizationId, JsonObject? customConfig = null)
        {
            var parameters = new JsonObject
            {
                ["organizationId"] = organization,
                ["conversationId"] = conversation,
                ["participant"] = new JsonObject { ["id"] = "883efee8-3d6c-4537-b500-6d7ca4b92fa0", ["ani"] = "+13175550000", ["aniName"] = "John Doe", ["dnis"] = "+18005550100" },
                ["media"] = media.DeepClone(),
                ["language"] = "en-US",
            };
            if (customConfig is not null) parameters["customConfig"] = customConfig;
            return Send("open", parameters);
        }

        public IReadOnlyList<PlatformAction> Send(string type, JsonObject parameters, string? position = null)
        {
            _position = position ?? _position;
            var message = new JsonObject
            {
                ["version"] = "2",
                ["id"] = SessionId,
                ["type"] = type,
                ["seq"] = ++_seq,
                ["serverseq"] = _sent.Count == 0 ? 0 : _sent[^1]["seq"]!.GetValue<long>(),
                ["position"] = _position,
                ["parameters"] = parameters,
            };
            return Collect(Session.OnText(Encoding.UTF8.GetBytes(message.ToJsonString())));
        }

        public IReadOnlyList<PlatformAction> Binary(byte[] frame) => Collect(Session.OnBinary(frame));

        public IReadOnlyList<PlatformAction> Collect(IReadOnlyList<PlatformAction> actions)
        {
            var copy = actions.ToList();
            foreach (var text in copy.OfType<SendText>()) _sent.Add(JsonNode.Parse(text.Json)!.AsObject());
            return copy;
        }
    }
}
