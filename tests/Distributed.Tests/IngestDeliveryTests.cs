using System.Net.WebSockets;
using System.Text;
using Streaming.Ingest.Sessions;

namespace Streaming.Tests.Distributed;

/// <summary>
/// A chunk of a live call that Kafka refuses for good while the call's later chunks would be delivered: the call must end
/// with 1011, never with a stop acknowledgement. The acknowledgement says that every second it counts reached Kafka; a
/// stretch missing in the middle of the stream is audio lost while the platform is told it arrived. Ingest used to wait
/// only for the call's last chunk, whose acknowledgement says nothing about an earlier one that failed.
/// </summary>
public sealed class IngestDeliveryTests
{
    /// <summary>
    /// The broker's largest message set: a chunk of silence (LZ4 shrinks it to a few hundred bytes) fits, a chunk of noise
    /// (200 ms of float samples, 6.4 KB per stream, incompressible) does not and is refused with "message size too large",
    /// an error librdkafka does not retry.
    /// </summary>
    private const int BrokerMessageMaxBytes = 4096;

    [Fact]
    public async Task Call_ChunkRefusedByKafkaMidCall_ClosedWith1011AndNeverAcknowledged()
    {
        await using var kafka = await PrivateKafka.StartAsync(messageMaxBytes: BrokerMessageMaxBytes);
        await using var ingest = await TwoIngestsFixture.StartIngestAsync(kafka, TestServers.Unique("refused"));
        using var call = await NativeClient.StartAsync(ingest, TwoIngestsFixture.ApiKey, TestServers.Unique("refused"));

        // 1 s of silence (five whole chunks per stream), one chunk of noise, one of silence and the stop; the pauses let each
        // part go out in a batch of its own, so that only the noise is refused: before, the silence after it was delivered and
        // the stop acknowledged the whole call.
        await call.SendSilenceAsync(frames: 8000);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var noise = new byte[1600 * 4]; // 200 ms, stereo PCM16
        new Random(7).NextBytes(noise);
        await call.Socket.SendAsync(noise, WebSocketMessageType.Binary, true, default);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await call.SendSilenceAsync(frames: 1600);

        var texts = new List<string>();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // The stop goes out only if ingest has not closed the call within a second (it closes at once when it refuses the call's audio).
        var receiving = call.Socket.ReceiveAsync(buffer, timeout.Token);
        if (await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromSeconds(1))) != receiving) await call.SendTextAsync("""{"type":"stop"}""");
        WebSocketReceiveResult result;
        while ((result = await receiving).MessageType != WebSocketMessageType.Close)
        {
            texts.Add(Encoding.UTF8.GetString(buffer, 0, result.Count));
            receiving = call.Socket.ReceiveAsync(buffer, timeout.Token);
        }

        Assert.DoesNotContain(texts, t => t.Contains("\"stopped\"", StringComparison.Ordinal));
        Assert.Equal(CloseCodes.InternalError, (int)result.CloseStatus!.Value);
        // and ingest says which chunk was lost
        Assert.Contains("chunk 5 was not delivered", ingest.Output, StringComparison.Ordinal);
    }
}
