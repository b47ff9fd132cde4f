using System.Text;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;

namespace Streaming.Tests.Distributed;

/// <summary>
/// Faults injected where they can do damage: after a stage has moved its per-stream state, while the batch's outputs
/// wait for the broker. Each test runs on a broker of its own, which it stops and starts.
/// </summary>
public sealed class DeliveryFaultTests
{
    private const int Calls = 4;
    private const int ChunksPerCall = 30;

    [Fact]
    public async Task Run_BrokerStoppedLongerThanDeliveryTimeoutAfterStageRan_EveryOutputAndDeadLetterDelivered()
    {
        await using var broker = await PrivateKafka.StartAsync();
        var options = broker.Options(maxBatch: 16);
        options.DeliveryTimeoutMs = 3000; // shorter than the outage below: the batch's outputs fail to deliver
        options.SessionTimeoutMs = 30000; // the group outlives the outage, so this instance keeps its partitions
        // The input is published with the default delivery timeout: a broker that has just started may be slow to take it.
        await using var setup = new KafkaBus(broker.Options());
        var input = await setup.NewTopicAsync<AudioChunk>("chunks");
        var output = await setup.NewTopicAsync<FeatureFrames>("frames");
        options.DeadLetterTopic = await setup.NewTopicAsync<DeadLetter>("dlq");
        var chunks = await setup.PublishCallsAsync(input, Calls, ChunksPerCall, lastIsFinal: true, samples: 400, afterSequence: i => i == ChunksPerCall / 2
            ? setup.Publisher.PublishRawAsync(input, Encoding.UTF8.GetBytes("call0"), Encoding.ASCII.GetBytes("poison"), CancellationToken.None).AsTask()
            : Task.CompletedTask);

        // The broker stops while the host decodes the batch holding the poison: that batch's dead letter and the frames the
        // featurizer computes from it (its state moves on) are produced while the broker is down, and time out.
        Task? outage = null;
        var codec = new DecodeHook<AudioChunk>(AudioChunkCodec.Instance, value =>
        {
            if (outage is not null || value[0] == Envelope.Magic) return;
            broker.Pause();
            outage = Task.Delay(options.DeliveryTimeoutMs + 4000).ContinueWith(_ => broker.Resume(), TaskScheduler.Default);
        });
        await using var bus = new KafkaBus(options);
        var outbox = new KafkaOutbox(bus.Publisher);
        var featurizer = new FeaturizerStage(FeatureConfig.Telephone8k, outbox.Sink(FeatureFramesCodec.Instance, output));
        await using (bus.Run(new StageHostSettings(input, TestServers.Unique("g")), codec, featurizer, outbox))
        {
            await Wait.UntilAsync(() => outage is not null, "the batch with the poison message", 120);
            await outage!;
            var frames = TopicReader.Read(options, output, FeatureFramesCodec.Instance, m => (m.Stream, m.Sequence), m => m.Count >= Calls * ChunksPerCall);

            var expected = new ListSink<FeatureFrames>();
            await new FeaturizerStage(FeatureConfig.Telephone8k, expected).HandleAsync(chunks, CancellationToken.None);
            Assert.Equal(expected.Messages.Select(m => $"{m.Stream}#{m.Sequence}").Order(), frames.Keys.Select(k => $"{k.Item1}#{k.Item2}").Order());
            foreach (var want in expected.Messages)
                Assert.True(want.LogMel.AsSpan().SequenceEqual(frames[(want.Stream, want.Sequence)].LogMel), $"{want.Stream} #{want.Sequence}: other frames than uninterrupted");
            var letter = Assert.Single(TopicReader.Read(options, options.DeadLetterTopic, DeadLetterCodec.Instance, l => l.Offset, m => m.Count >= 1).Values);
            Assert.StartsWith("undecodable", letter.Reason);
        }
    }
}

/// <summary>A codec that calls <paramref name="hook"/> with every value before decoding it: a fault at a chosen message.</summary>
internal sealed class DecodeHook<T>(IMessageCodec<T> inner, Action<byte[]> hook) : IMessageCodec<T>
{
    public string Topic => inner.Topic;

    public ushort SchemaVersion => inner.SchemaVersion;

    public string Key(T message) => inner.Key(message);

    public long Sequence(T message) => inner.Sequence(message);

    public DateTimeOffset EventTime(T message) => inner.EventTime(message);

    public byte[] Encode(T message, string? traceParent) => inner.Encode(message, traceParent);

    public T Decode(ReadOnlySpan<byte> value, out Envelope envelope)
    {
        hook(value.ToArray());
        return inner.Decode(value, out envelope);
    }
}

internal sealed class ListSink<T> : IMessageSink<T>
{
    public List<T> Messages { get; } = [];

    public ValueTask PublishAsync(T message, CancellationToken cancellationToken)
    {
        Messages.Add(message);
        return ValueTask.CompletedTask;
    }
}
