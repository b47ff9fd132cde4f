using Streaming.Contracts;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>
/// What the stage-host tests on Kafka set up before the host under test runs: fresh topics on the bus's broker and a
/// backlog of calls' chunks. (Service processes take their broker settings from <see cref="TestServers.KafkaSettings"/>.)
/// </summary>
internal static class KafkaSetUp
{
    /// <summary>A new topic of <typeparamref name="T"/> on the bus's broker, named after <paramref name="what"/> (each test its own).</summary>
    public static async Task<string> NewTopicAsync<T>(this KafkaBus bus, string what)
    {
        var topic = TestServers.Unique(what);
        await bus.CreateTopicAsync<T>(topic);
        return topic;
    }

    /// <summary>
    /// Publishes <paramref name="chunksPerCall"/> chunks of each of <paramref name="calls"/> calls (call0, call1, ...; the
    /// customer's stream), sequence by sequence as live calls interleave, waits until all are acknowledged and returns them.
    /// </summary>
    /// <param name="lastIsFinal">each call's last chunk is its final one</param>
    /// <param name="afterSequence">called with each sequence number once its chunks are published (to slip another message in)</param>
    public static async Task<List<AudioChunk>> PublishCallsAsync(this KafkaBus bus, string topic, int calls, int chunksPerCall, bool lastIsFinal = false,
        int samples = 8, Func<int, Task>? afterSequence = null)
    {
        var sink = bus.Sink(topic, AudioChunkCodec.Instance);
        var chunks = new List<AudioChunk>(calls * chunksPerCall);
        for (var sequence = 0; sequence < chunksPerCall; sequence++)
        {
            for (var call = 0; call < calls; call++)
            {
                var chunk = BusContractTests.Chunk($"call{call}", "customer", sequence, lastIsFinal && sequence == chunksPerCall - 1, samples);
                chunks.Add(chunk);
                await sink.PublishAsync(chunk, CancellationToken.None);
            }
            if (afterSequence is not null) await afterSequence(sequence);
        }
        await bus.FlushAsync();
        return chunks;
    }
}
