using System.Text;
using System.Text.Json;
using Streaming.Audio;
using Streaming.Ingest.Sessions;
using Streaming.Platforms;
using Streaming.Platforms.AudioHook;
using Streaming.Platforms.Twilio;
using Streaming.Tenancy;

namespace Streaming.Fuzz;

/// <summary>
/// One entry per network-facing parser. Each target takes arbitrary bytes and fails (throws
/// <see cref="FuzzFailure"/> or lets an unexpected exception escape) only on a real bug: an exception other than the
/// parser's documented error type, or output that breaks the protocol's own invariants.
/// </summary>
public static class FuzzTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["native-start"] = NativeStart,
        ["audiohook"] = AudioHook,
        ["signature-fields"] = SignatureFields,
        ["twilio"] = Twilio,
        ["wav"] = Wav,
    };

    private static readonly Tenant NativeTenant = new TenantRegistry(Microsoft.Extensions.Options.Options.Create(new TenantsOptions
    {
        Tenants = { ["acme"] = new TenantOptions { ApiKey = "fuzz-key-0123456789abcdef" } },
    })).Find("acme")!;

    /// <summary>The native protocol's start message: parsing and validation refuse with <see cref="IngestProtocolException"/> only.</summary>
    public static void NativeStart(byte[] input)
    {
        try
        {
            CallStart.Parse(input).ToSession(NativeTenant);
        }
        catch (IngestProtocolException e) when (e.Code is >= 1000 and < 5000 && e.Message.Length > 0)
        {
        }
    }

    /// <summary>
    /// An AudioHook session fed a script of messages (see <see cref="Messages"/>): whatever arrives, every message the
    /// server sends is protocol JSON numbered 1, 2, 3..., audio is whole frames, and nothing follows <c>closed</c>.
    /// </summary>
    public static void AudioHook(byte[] input)
    {
        var session = new AudioHookSession("30b0e395-84d3-4570-ac13-9a62d8f514c0", "d7934305-0972-4844-938e-9060eef73d05");
        long expectedSeq = 0;
        var channels = 0;
        foreach (var (binary, data) in Messages(input))
        {
            var wasClosed = session.State == AudioHookState.Closed;
            var actions = binary ? session.OnBinary(data) : session.OnText(data);
            foreach (var action in actions)
            {
                switch (action)
                {
                    case SendText text:
                        if (wasClosed) throw new FuzzFailure("a message after closed");
                        using (var json = JsonDocument.Parse(text.Json))
                        {
                            var seq = json.RootElement.GetProperty("seq").GetInt64();
                            if (seq != ++expectedSeq) throw new FuzzFailure($"server seq {seq}, expected {expectedSeq}");
                        }
                        break;
                    case StartCall start:
                        channels = start.Channels * (start.Encoding == SampleEncoding.Pcm16 ? 2 : 1);
                        break;
                    case CallAudio audio when channels == 0 || audio.Frames.Length % channels != 0:
                        throw new FuzzFailure("audio that is not whole frames");
                    case AdvanceClock advance when advance.Frames <= 0:
                        throw new FuzzFailure("the clock moved backwards");
                }
            }
        }
        session.OnConnectionLost();
    }

    /// <summary>The structured-field parser of Signature/Signature-Input: FormatException only, and canonical output reparses to itself.</summary>
    public static void SignatureFields(byte[] input)
    {
        var text = Encoding.Latin1.GetString(input);
        IReadOnlyList<KeyValuePair<string, StructuredFields.Member>> members;
        try
        {
            members = StructuredFields.ParseDictionary(text);
        }
        catch (FormatException)
        {
            return;
        }
        foreach (var (key, member) in members)
        {
            var canonical = member.InnerList is null ? StructuredFields.SerializeItem(member) : StructuredFields.SerializeInnerList(member);
            var again = StructuredFields.ParseDictionary($"{key}={canonical}").Single().Value;
            var second = again.InnerList is null ? StructuredFields.SerializeItem(again) : StructuredFields.SerializeInnerList(again);
            if (second != canonical) throw new FuzzFailure($"canonical form is not stable: {canonical} -> {second}");
        }
        // And the verifier as a whole, with the fuzzed text as the signature input.
        var headers = new Dictionary<string, string>
        {
            ["signature-input"] = text,
            ["signature"] = "sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:",
            ["x-api-key"] = "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh",
        };
        var verifier = new AudioHookSignatureVerifier(TimeProvider.System, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(3));
        verifier.Verify(new SignedRequest("/", "example.com", n => headers.GetValueOrDefault(n)), new byte[32]);
    }

    /// <summary>A Twilio stream fed a script of messages: audio is whole frames of the started call, one end at most.</summary>
    public static void Twilio(byte[] input)
    {
        var stream = new TwilioMediaStream();
        var channels = 0;
        var ends = 0;
        foreach (var (binary, data) in Messages(input))
        {
            var actions = binary ? stream.OnBinary() : stream.OnText(data);
            foreach (var action in actions)
            {
                if (action is StartCall start) channels = start.Channels;
                if (action is CallAudio audio && (channels == 0 || audio.Frames.Length % channels != 0)) throw new FuzzFailure("audio that is not whole frames");
                if (action is EndCall) ends++;
            }
        }
        ends += stream.OnConnectionLost().OfType<EndCall>().Count();
        if (ends > 1) throw new FuzzFailure("the call ended twice");
    }

    /// <summary>The WAV reader on a seekable and a non-seekable stream: <see cref="AudioFormatException"/> only, samples finite.</summary>
    public static void Wav(byte[] input)
    {
        foreach (var seekable in new[] { true, false })
        {
            try
            {
                Stream source = seekable ? new MemoryStream(input) : new ForwardOnlyStream(input);
                using var reader = new WavReader(source, "fuzz.wav");
                var buffer = new float[4096 * Math.Max(1, reader.Format.Channels)];
                int n;
                while ((n = reader.Read(buffer)) > 0)
                {
                    if (n % reader.Format.Channels != 0) throw new FuzzFailure("a read that is not whole frames");
                    for (var i = 0; i < n; i++)
                        if (!float.IsFinite(buffer[i])) throw new FuzzFailure("a non-finite sample was returned");
                }
            }
            catch (AudioFormatException)
            {
            }
        }
    }

    /// <summary>
    /// Splits fuzz input into WebSocket messages: records separated by a 0x00 byte; a record starting with 0x01 is a
    /// binary message (the rest of the record), any other a text message.
    /// </summary>
    public static IEnumerable<(bool Binary, byte[] Data)> Messages(byte[] input)
    {
        var start = 0;
        for (var i = 0; i <= input.Length; i++)
        {
            if (i < input.Length && input[i] != 0) continue;
            var record = input[start..i];
            start = i + 1;
            if (record.Length > 0 && record[0] == 1) yield return (true, record[1..]);
            else yield return (false, record);
        }
    }

    /// <summary>A stream that cannot seek, like a network or pipe source.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
        public override long Length => throw new NotSupportedException();
        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
    }
}

/// <summary>A broken invariant found by a fuzz target.</summary>
public sealed class FuzzFailure(string message) : Exception(message);
