using System.Collections.Concurrent;
using System.Diagnostics;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>Trace context across the real 0.9 broker: the envelope carries it, batch spans link every message.</summary>
public sealed class KafkaTracingTests
{
    private const string ProducerName = "Streaming.Tests.Producer";
    private static readonly ActivitySource Producer = new(ProducerName);

    [Fact]
    public async Task Run_BatchOfManyTraces_SpanLinksEveryMessagesContext()
    {
        var topic = TestServers.Unique("links");
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is KafkaInstrumentation.Name or ProducerName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { if (a.GetTagItem("messaging.destination.name") as string == topic) spans.Enqueue(a); },
        };
        ActivitySource.AddActivityListener(listener);
        await using var bus = new KafkaBus(TestServers.Kafka(maxBatch: 20));
        await bus.CreateTopicAsync<AudioChunk>(topic);
        var sink = bus.Sink(topic, AudioChunkCodec.Instance);

        // Ten chunks, each published inside its own trace (the envelope takes Activity.Current), all before the
        // consumer starts so that batches hold several traces.
        var published = new List<ActivityContext>();
        for (var i = 0; i < 10; i++)
        {
            using var trace = Producer.StartActivity($"chunk {i}", ActivityKind.Producer, parentContext: default)!;
            published.Add(trace.Context);
            await sink.PublishAsync(BusContractTests.Chunk("traced", "customer", i, i == 9), CancellationToken.None);
        }
        await bus.FlushAsync();
        var stage = new RecordingStage<AudioChunk>();
        await using (bus.Run(topic, TestServers.Unique("g"), AudioChunkCodec.Instance, stage))
            await Wait.UntilAsync(() => stage.Count >= 10, "the 10 chunks");

        var batches = spans.ToArray();
        Assert.NotEmpty(batches);
        Assert.Contains(batches, b => b.Links.Count() > 1);
        Assert.Equal(published.Select(c => c.SpanId.ToHexString()).Order(), batches.SelectMany(b => b.Links).Select(l => l.Context.SpanId.ToHexString()).Order());
        foreach (var batch in batches)
        {
            // parented on the first message's trace, so that message's journey stays one trace
            var first = batch.Links.First().Context;
            Assert.Equal(first.TraceId, batch.TraceId);
            Assert.Equal(first.SpanId, batch.ParentSpanId);
        }
    }
}
