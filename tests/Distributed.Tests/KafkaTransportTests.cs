using System.Text;
using Confluent.Kafka;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>Kafka-only guarantees on the real 0.9 broker: dead letters, at-least-once across a restart, and the modern settings on librdkafka's mock cluster.</summary>
public sealed class KafkaTransportTests
{
    [Fact]
    public async Task Run_PoisonMessage_DeadLetteredWithReasonAndStreamGoesOn()
    {
        var options = TestServers.Kafka();
        await using var bus = new KafkaBus(options);
        var topic = await bus.NewTopicAsync<AudioChunk>("poison");
        var deadLetters = options.DeadLetterTopic = await bus.NewTopicAsync<DeadLetter>("dlq");
        var stage = new RecordingStage<AudioChunk>();
        var sink = bus.Sink(topic, AudioChunkCodec.Instance);
        var garbage = Encoding.ASCII.GetBytes("this value is not an envelope at all");

        await using (bus.Run(topic, TestServers.Unique("g"), AudioChunkCodec.Instance, stage))
        {
            for (var i = 0; i < 10; i++)
            {
                // the poison shares the call's key, so it sits in the same partition between good chunks
                if (i == 5) await bus.Publisher.PublishRawAsync(topic, Encoding.UTF8.GetBytes("poisoned"), garbage, CancellationToken.None);
                await sink.PublishAsync(BusContractTests.Chunk("poisoned", "customer", i, i == 9), CancellationToken.None);
            }
            await bus.FlushAsync();
            await Wait.UntilAsync(() => stage.Count >= 10, "the 10 good chunks");
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), stage.Received.Select(c => c.Sequence));
        var letter = Assert.Single(ReadAll(deadLetters, 1));
        Assert.Equal(topic, letter.SourceTopic);
        Assert.Contains("not the envelope magic", letter.Reason);
        Assert.Equal(garbage, letter.OriginalValue);
        Assert.Equal("poisoned", Encoding.UTF8.GetString(letter.OriginalKey!));
    }

    [Fact]
    public async Task Run_StageRejectsMessage_DeadLetteredAndLaterMessagesProcessed()
    {
        var options = TestServers.Kafka();
        await using var bus = new KafkaBus(options);
        var topic = await bus.NewTopicAsync<AudioChunk>("reject");
        var deadLetters = options.DeadLetterTopic = await bus.NewTopicAsync<DeadLetter>("dlq");
        var stage = new RecordingStage<AudioChunk> { Reject = c => c.Sequence == 3 };

        await using (bus.Run(topic, TestServers.Unique("g"), AudioChunkCodec.Instance, stage))
        {
            var sink = bus.Sink(topic, AudioChunkCodec.Instance);
            for (var i = 0; i < 8; i++) await sink.PublishAsync(BusContractTests.Chunk("rejecting", "customer", i, i == 7), CancellationToken.None);
            await bus.FlushAsync();
            await Wait.UntilAsync(() => stage.Received.Any(c => c.Sequence == 7), "the last chunk");
        }

        Assert.Equal(new long[] { 0, 1, 2, 4, 5, 6, 7 }, stage.Received.Select(c => c.Sequence).Distinct());
        var letter = Assert.Single(ReadAll(deadLetters, 1));
        Assert.StartsWith("rejected: test rejects", letter.Reason);
        Assert.Equal(3, AudioChunkCodec.Instance.Decode(letter.OriginalValue, out _).Sequence);
    }

    [Fact]
    public async Task Run_HostStoppedAndRestarted_EveryMessageProcessedAtLeastOnce()
    {
        var group = TestServers.Unique("g");
        await using var bus = new KafkaBus(TestServers.Kafka(maxBatch: 5));
        var topic = await bus.NewTopicAsync<AudioChunk>("restart");
        await bus.PublishCallsAsync(topic, calls: 4, chunksPerCall: 50);

        // The first instance fails mid-stream (an outage inside a batch), then is stopped while retrying.
        var first = new RecordingStage<AudioChunk> { FailAfter = 62 };
        await using (var running = bus.Run(new StageHostSettings(topic, group), AudioChunkCodec.Instance, first))
            await Wait.UntilAsync(() => running.Host.Status.Problem?.Contains("simulated outage") == true, "the first instance to fail");
        var second = new RecordingStage<AudioChunk>();
        await using (bus.Run(topic, group, AudioChunkCodec.Instance, second))
            await Wait.UntilAsync(() => first.Received.Concat(second.Received).Select(c => (c.Stream, c.Sequence)).Distinct().Count() == 200, "all 200 messages over both instances");

        Assert.Equal(62, first.Count);
        // Only the failed batch (at most MaxBatch = 5 messages) is processed twice: everything before it was committed.
        var again = first.Received.Select(c => (c.Stream, c.Sequence)).Intersect(second.Received.Select(c => (c.Stream, c.Sequence))).Count();
        Assert.InRange(again, 0, 4);
        Assert.Equal(200 - 62 + again, second.Count);
        foreach (var stream in second.Received.GroupBy(c => c.Stream))
            Assert.Equal(stream.Select(c => c.Sequence).Order(), stream.Select(c => c.Sequence));
    }

    [Fact]
    public async Task Run_InputTopicGainsPartitionsWhileRunning_HostStopsNamingTheChange()
    {
        await using var bus = new KafkaBus();
        var topic = await bus.NewTopicAsync<AudioChunk>("grow");
        var stage = new RecordingStage<AudioChunk>();
        var running = bus.Run(new StageHostSettings(topic, TestServers.Unique("g")), AudioChunkCodec.Instance, stage);
        var refused = false;
        try
        {
            var sink = bus.Sink(topic, AudioChunkCodec.Instance);
            for (var i = 0; i < 4; i++) await sink.PublishAsync(BusContractTests.Chunk($"call{i}", "customer", 0, false), CancellationToken.None);
            await bus.FlushAsync();
            await Wait.UntilAsync(() => stage.Count == 4, "the first messages");

            await TestServers.AddPartitionsAsync(topic, 6);

            await Wait.UntilAsync(() => running.Host.Status.Problem?.Contains("went from 4 to 6 partitions") == true, "the host to refuse the new partition count", 120);
            refused = true;
        }
        finally
        {
            var stopped = await Record.ExceptionAsync(async () => await running.DisposeAsync());
            if (refused) Assert.IsType<InvalidOperationException>(stopped); // the loop ended with the error it reported
        }
    }

    [Fact]
    public async Task PublishAsync_ModernSettings_HeadersMirrorTheEnvelope()
    {
        // The 0.9 broker drops headers; librdkafka's mock cluster speaks the modern protocol (idempotence, zstd, headers).
        var options = new KafkaOptions { BootstrapServers = "127.0.0.1:9", LegacyBroker09 = false };
        var producerConfig = options.ProducerConfig();
        producerConfig.BootstrapServers = null;
        producerConfig.Set("test.mock.num.brokers", "1");
        Assert.True(producerConfig.EnableIdempotence);
        Assert.Equal(CompressionType.Zstd, producerConfig.CompressionType);

        using var producer = new ProducerBuilder<byte[], byte[]>(producerConfig).SetLogHandler(KafkaLog.Write).Build();
        var topic = TestServers.Unique("modern");
        var window = new EmotionWindow(new StreamKey(StreamKey.DefaultTenant, "m1", "customer"), SpeakerRole.Customer, 42, 0, 3, "happy", "happy", 0.9f, [0.9f, 0.1f, 0, 0], false,
            DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
        using var mockAdmin = new DependentAdminClientBuilder(producer.Handle).Build();
        var bootstrap = string.Join(",", mockAdmin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Select(b => $"{b.Host}:{b.Port}"));
        options.BootstrapServers = bootstrap;
        using (var publisher = new KafkaPublisher(options))
        {
            await publisher.PublishAsync(EmotionWindowCodec.Instance, topic, window, CancellationToken.None);
            await publisher.DrainAsync(CancellationToken.None);
        }

        var consumerConfig = options.ConsumerConfig(TestServers.Unique("g"));
        using var consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig).SetLogHandler(KafkaLog.Write).Build();
        consumer.Subscribe(topic);
        var result = consumer.Consume(TimeSpan.FromSeconds(30));
        Assert.NotNull(result);
        string Header(string name) => Encoding.ASCII.GetString(result.Message.Headers.GetLastBytes(name));
        Assert.Equal(EmotionWindowCodec.Instance.SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Header("schema-version"));
        Assert.Equal("42", Header("sequence"));
        Assert.Equal("1700000000000", Header("event-time"));
        Assert.Equal("m1", Encoding.UTF8.GetString(result.Message.Key));
        Assert.Equal(window with { Probabilities = [] }, EmotionWindowCodec.Instance.Decode(result.Message.Value, out _) with { Probabilities = [] });
    }

    private static List<DeadLetter> ReadAll(string topic, int expected)
    {
        var config = TestServers.Kafka().ConsumerConfig(TestServers.Unique("reader"));
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler(KafkaLog.Write).Build();
        consumer.Subscribe(topic);
        var letters = new List<DeadLetter>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (letters.Count < expected && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } r) letters.Add(DeadLetterCodec.Instance.Decode(r.Message.Value, out _));
        }
        // a little longer: a second, unexpected dead letter must fail the test too
        var extra = consumer.Consume(TimeSpan.FromSeconds(1));
        if (extra is { IsPartitionEOF: false }) letters.Add(DeadLetterCodec.Instance.Decode(extra.Message.Value, out _));
        consumer.Close();
        return letters;
    }
}
