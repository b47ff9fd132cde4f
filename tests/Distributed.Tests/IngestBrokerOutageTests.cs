using System.Net.WebSockets;
using System.Text.Json;

namespace Streaming.Tests.Distributed;

/// <summary>
/// The Kafka broker stops mid-call: ingest holds at most its producer queue (Kafka:ProducerQueueKbytes) and pushes back
/// on the client (its sends block), instead of buffering audio until the pod runs out of memory; when the broker
/// returns the call goes on and nothing is lost, however much longer than the idle timeout the push-back lasted.
/// </summary>
public sealed class IngestBrokerOutageTests
{
    [Fact]
    public async Task Ingest_BrokerStoppedMidCall_ClientIsPushedBackAndTheCallCompletesWithoutLoss()
    {
        await using var kafka = await PrivateKafka.StartAsync();
        await using var ingest = await TwoIngestsFixture.StartIngestAsync(kafka, TestServers.Unique("outage"), new Dictionary<string, string>
        {
            ["Kafka:ProducerQueueKbytes"] = "1024", // 1 MiB of chunks: ~40 s of this 16-bit stereo call (its samples travel as PCM16 or mu-law)
            // shorter than the push-back below (at least 5 s): the time ingest does not read is not the client's idleness
            ["Ingest:IdleTimeout"] = "00:00:03",
        });
        using var call = await NativeClient.StartAsync(ingest, TwoIngestsFixture.ApiKey, TestServers.Unique("outage"));
        await call.SendSilenceAsync(frames: 8000);

        kafka.Pause();
        var second = new byte[8000 * 4];
        long sent = 0;
        Task? blocked = null;
        try
        {
            // Send as fast as the socket takes it; a send that does not complete within 5 s is the push-back.
            const long cap = 256L * 1024 * 1024; // 2.3 h of audio: what an unbounded queue (librdkafka's default is 1 GiB) would take in
            while (sent < cap)
            {
                var send = call.Socket.SendAsync(second, WebSocketMessageType.Binary, true, default);
                if (await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(5))) != send)
                {
                    blocked = send;
                    break;
                }
                await send;
                sent += second.Length;
            }
        }
        finally
        {
            kafka.Resume();
        }

        Assert.True(blocked is not null, $"the client sent {sent / (1024 * 1024)} MiB while the broker was stopped without being pushed back");
        // queue (1 MiB of floats = 0.5 MiB of PCM16) + Kestrel's input buffer + loopback socket buffers
        Assert.True(sent < 32L * 1024 * 1024, $"pushed back only after {sent / (1024 * 1024)} MiB");
        await blocked;
        sent += second.Length;
        // The session reads the backlog and then waits for the stop: the wait, not the push-back, is the client's idle time.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var ack = JsonDocument.Parse(await call.StopAsync()).RootElement;
        Assert.Equal("stopped", ack.GetProperty("type").GetString());
        Assert.Equal(1 + sent / (8000.0 * 4), ack.GetProperty("seconds").GetDouble(), 6);
    }
}
